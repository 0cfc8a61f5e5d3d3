"""The rules for steps: resolve inputs, refuse what cannot be used, consume inventory, make outputs."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from pint import DimensionalityError
from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from labrules import units
from labrules.validator import Verdict
from schemas import Deviation, ItemKind, ItemStatus, ProblemItem, Quantity, StepIn, StepInputOut, StepOut
from schemas.steps import StepInstrumentOut
from service.auth.tables import User
from service.db import insert_new, utcnow
from service.errors import Conflict, Invalid, NotFound, problem
from service.instruments import uses as instrument_uses
from service.items import logic as items
from service.items import queries as item_queries
from service.items.tables import Item, ItemType
from service.lineage.closure import drop_ancestry, extend_ancestry
from service.steps import queries
from service.steps.tables import ItemLink, Step, StepInput
from service.templates import logic as templates
from service.templates.tables import Template
from service.work import insert_later, insert_queued, note_event, work_of

_UNUSABLE = {
    ItemStatus.voided: "is voided",
    ItemStatus.quarantined: "is quarantined until released",
    ItemStatus.consumed: "is used up",
}


def _check_request(
    session: Session, body: StepIn
) -> tuple[dict[int, Item], dict[int, ItemType], list[ProblemItem]]:
    """Everything wrong with the request itself (422), found in one pass: unknown items and types, units."""
    problems: list[ProblemItem] = []
    for name, value in body.parameters.items():
        if isinstance(value, Quantity) and (bad := units.check_quantity(value, f"/parameters/{name}")):
            problems.append(bad)

    inputs: dict[int, Item] = {}
    # One query for all inputs and claimed output codes, not one per entry; none for the items this
    # transaction changed already (an import uses what it received and made a moment ago).
    named = {given.item for given in body.inputs} | {o.code for o in body.outputs if o.code}
    found = {code: item for code in named if (item := items.recorded_now(session, code)) is not None}
    if unread := [code for code in named if code not in found]:
        found |= {item.code: item for item in item_queries.items_by_code(session, unread)}
    for n, given in enumerate(body.inputs):
        where = f"/inputs/{n}"
        item = found.get(given.item)
        if item is None:
            problems.append(problem(f"{where}/item", "no item with this code", got=given.item))
            continue
        inputs[n] = item
        if given.amount is None:
            continue
        if (bad := units.check_quantity(given.amount, f"{where}/amount", positive=True)) is not None:
            problems.append(bad)
        elif item.quantity_unit is not None:
            try:
                units.convert(given.amount, item.quantity_unit)
            except DimensionalityError:
                problems.append(
                    problem(
                        f"{where}/amount/unit",
                        f"{item.code} is counted in {item.quantity_unit}",
                        expected=units.dimension(item.quantity_unit),
                        got=given.amount.unit,
                    )
                )

    types: dict[int, ItemType] = {}
    codes: set[str | None] = set()
    for n, output in enumerate(body.outputs):
        where = f"/outputs/{n}"
        item_type = items.find_type(session, output.type)
        if item_type is None:
            problems.append(
                problem(f"{where}/type", "no such item type; see GET /api/v1/item-types", got=output.type)
            )
        elif item_type.kind == ItemKind.lot:
            problems.append(
                problem(
                    f"{where}/type",
                    "lots are received (POST /lots), not made by a step",
                    expected="a batch or cell type",
                    got=output.type,
                )
            )
        else:
            types[n] = item_type
        if output.quantity is not None and (
            bad := units.check_quantity(output.quantity, f"{where}/quantity", positive=True)
        ):
            problems.append(bad)
        if output.code and output.code in found:
            problems.append(problem(f"{where}/code", "an item with this code exists", got=output.code))
        elif output.code and output.code in codes:
            # Caught here: the unique index would only say "retry", and a retry can never succeed.
            problems.append(
                problem(f"{where}/code", "another output of this step has this code", got=output.code)
            )
        codes.add(output.code)
    return inputs, types, problems


def _check_template(
    session: Session,
    body: StepIn,
    inputs: dict[int, Item],
    problems: list[ProblemItem],
    used: list[instrument_uses.StepUse | None],
) -> tuple[Template | None, Verdict]:
    """Add the template's verdict to the request's own problems, and refuse the step if any are left."""
    input_types = [
        items.item_ref(session, inputs[n]).type if n in inputs else None for n in range(len(body.inputs))
    ]
    facts = [use.facts if use else None for use in used]
    template, verdict = templates.judge_step(session, body, input_types, facts)
    # The same unit problem is found by both passes; list it once.
    everything = list({p.model_dump_json(): p for p in [*problems, *verdict.problems]}.values())
    if everything:
        raise Invalid(f"the step does not follow {body.protocol}: {len(everything)} problem(s)", everything)
    return template, verdict


def _amounts(body: StepIn, inputs: dict[int, Item]) -> dict[int, float]:
    """Each input's amount in its item's own unit (absent: no amount given, or no tracked quantity)."""
    return {
        n: units.convert(given.amount, inputs[n].quantity_unit or "")
        for n, given in enumerate(body.inputs)
        if given.amount is not None and inputs[n].quantity_unit is not None
    }


def _demand(amounts: dict[int, float], inputs: dict[int, Item]) -> dict[int, float]:
    """How much of each item the step takes, summed over its roles (DMF as solvent and for washing)."""
    taken: dict[int, float] = defaultdict(float)
    for n, amount in amounts.items():
        taken[inputs[n].id or 0] += amount
    return taken


def _check_usable(body: StepIn, inputs: dict[int, Item], taken: dict[int, float]) -> None:
    """What conflicts with the inventory as it is (409): void or used-up inputs, too little left."""
    problems: list[ProblemItem] = []
    for n, given in enumerate(body.inputs):
        item = inputs[n]
        if (why := _UNUSABLE.get(ItemStatus(item.status))) is not None:
            problems.append(problem(f"/inputs/{n}/item", f"{item.code} {why}", got=item.status))
        elif given.amount is not None and item.id in taken and item.remaining_value is not None:
            wanted = taken[item.id]
            if wanted > item.remaining_value + items.EPSILON * max(1.0, wanted):
                problems.append(
                    problem(
                        f"/inputs/{n}/amount",
                        f"only {item.remaining_value:g} {item.quantity_unit} of {item.code} is left",
                        expected=f"<= {item.remaining_value:g} {item.quantity_unit}",
                        got=f"{wanted:g} {item.quantity_unit}",
                    )
                )
    if problems:
        raise Conflict("the step uses what cannot be used", problems)


def _consume(
    session: Session, user: User, step: Step, by_id: dict[int, Item], taken: dict[int, float]
) -> None:
    """Take each amount off what is left, in one guarded UPDATE for all inputs: two steps racing for the last
    grams cannot both succeed, because the second one's WHERE no longer matches."""
    if not taken:
        return
    slacks = {item_id: (amount, items.EPSILON * max(1.0, amount)) for item_id, amount in taken.items()}
    left = queries.take_amounts(session, slacks, utcnow())
    for item_id in taken:
        if item_id not in left:
            code = by_id[item_id].code
            raise Conflict(
                f"{code} was used by another step meanwhile; not enough is left",
                [problem("/inputs", f"{code}: too little left")],
            )
    for item_id in taken:
        item = by_id[item_id]
        # The row as the UPDATE left it, without reading it back: these four columns are all it changed.
        for name in ("remaining_value", "status", "version", "updated_at"):
            set_committed_value(item, name, getattr(left[item_id], name))
        items.record_version(session, item, "consumed", user, f"step {step.id} ({step.protocol})")


def log_step(session: Session, user: User, body: StepIn, *, max_outputs: int) -> StepOut:
    """Log a performed step; returns it as shown (and as its audit event records it). A step making more
    than `max_outputs` items is refused before anything is read: one request's work stays bounded."""
    if (asked := sum(output.count for output in body.outputs)) > max_outputs:
        raise Invalid(
            f"a step may make at most {max_outputs} items (CELLPROV_MAX_OUTPUTS_PER_STEP); this one asks for "
            f"{asked}",
            [problem("/outputs", "make fewer items per step", expected=f"<= {max_outputs}", got=asked)],
        )
    inputs, types, problems = _check_request(session, body)
    # The instruments' calibration on the step's day: when it began, else ended, else now.
    used, unknown = instrument_uses.read_step_instruments(
        session, body.instruments, body.started_at or body.ended_at or utcnow()
    )
    template, verdict = _check_template(session, body, inputs, [*problems, *unknown], used)
    amounts = _amounts(body, inputs)
    taken = _demand(amounts, inputs)
    _check_usable(body, inputs, taken)
    assert user.id is not None

    now = utcnow()
    step = Step(
        protocol=body.protocol,
        status="recorded",
        operator_id=user.id,
        started_at=body.started_at,
        ended_at=body.ended_at,
        parameters={k: stored_parameter(v) for k, v in body.parameters.items()},
        notes=body.notes,
        created_at=now,
        template_id=template.id if template else None,
        deviating=verdict.deviating,
        deviations=[d.model_dump(mode="json") for d in verdict.deviations],
        normalized={k: v.model_dump() for k, v in verdict.normalized.items()},
        computed={k: v.model_dump() for k, v in verdict.computed.items()},
    )
    insert_new(session, [step])
    assert step.id is not None
    instruments = instrument_uses.record_step_uses(session, step.id, used, verdict.deviations)

    by_id = {item.id or 0: item for item in inputs.values()}
    # The versions and rows noted below are flushed together at the next flush, not one by one.
    items.recall_states(session, [by_id[item_id] for item_id in taken])
    with session.no_autoflush:
        _consume(session, user, step, by_id, taken)
    for n, given in enumerate(body.inputs):
        insert_later(
            session,
            StepInput,
            {
                "step_id": step.id,
                "item_id": inputs[n].id,
                "role": given.role,
                "amount_value": given.amount.value if given.amount else None,
                "amount_unit": given.amount.unit if given.amount else None,
                "consumed_value": amounts.get(n),
            },
        )

    made: list[Item] = []
    claimed = {output.code for output in body.outputs if output.code}
    for n, output in enumerate(body.outputs):
        codes = [output.code] if output.code else items.next_codes(session, types[n], output.count, claimed)
        for code in codes:
            made.append(
                items.create_output(
                    session,
                    user,
                    types[n],
                    step.id,
                    code=code,
                    name=output.name,
                    quantity=output.quantity,
                    properties=output.properties,
                    now=now,
                    quarantined=templates.quarantines(template, output.type),
                )
            )
    insert_new(session, made)
    for child in made:
        items.record_version(session, child, "made", user, None)
    for n, given in enumerate(body.inputs):
        for child in made:
            insert_later(
                session,
                ItemLink,
                {
                    "parent_id": inputs[n].id,
                    "child_id": child.id,
                    "step_id": step.id,
                    "role": given.role,
                    "active": True,
                },
            )
    parents = [item.id or 0 for item in inputs.values()]
    extend_ancestry(session, {child.id or 0: parents for child in made})
    shown = _shown(session, step, user, body, inputs, made)
    shown.instruments = instruments
    work_of(session).steps_logged[step.id] = shown
    note_event(session, "step.logged", "step", step.id, data=shown.model_dump(mode="json"))
    return shown


def logged_now(session: Session, step_id: int) -> StepOut | None:
    """A step as log_step showed it, when this transaction logged it (search indexes it without a re-read)."""
    shown: StepOut | None = work_of(session).steps_logged.get(step_id)
    return shown


def _shown(
    session: Session, step: Step, user: User, body: StepIn, inputs: dict[int, Item], made: list[Item]
) -> StepOut:
    """What step_out would read back, built from what log_step holds already (inputs in the order given,
    outputs in the order made, each item as it is now)."""
    return _step_out(
        session,
        step,
        user.username,
        [
            (
                given.role,
                inputs[n],
                given.amount.value if given.amount else None,
                given.amount.unit if given.amount else None,
            )
            for n, given in enumerate(body.inputs)
        ],
        made,
    )


def stored_parameter(value: Any) -> Any:
    """A parameter as the steps table keeps it: a quantity as {"value", "unit"}."""
    return value.model_dump() if isinstance(value, Quantity) else value


def get_step(session: Session, step_id: int, *, lock: bool = False) -> Step:
    step = session.get(Step, step_id, with_for_update=lock or None)
    if step is None:
        raise NotFound(f"no step {step_id}")
    return step


def void_step(session: Session, user: User, step_id: int, reason: str) -> Step:
    """Void a step logged by mistake: its outputs are voided, what it consumed is put back, and it drops out
    of lineage. Refused while a later step still uses one of its outputs: void that one first."""
    insert_queued(session)  # the links and inputs read below, when the step was logged in this transaction
    work_of(session).steps_logged.pop(step_id, None)
    # Locked: two voids of one step at once on PostgreSQL would otherwise both put its inputs back.
    step = get_step(session, step_id, lock=True)
    if step.status == "voided":
        raise Conflict(
            f"step {step_id} is already voided", [problem("/reason", f"voided before: {step.void_reason}")]
        )
    # Outputs and inputs are locked (PostgreSQL) before they are read: a step logged meanwhile that takes
    # from them must either finish first (and be seen) or wait for this void (and find them voided).
    outputs = list(
        session.exec(
            select(Item).where(Item.produced_by_step_id == step_id).with_for_update().order_by(col(Item.id))
        ).all()
    )
    output_ids = [o.id for o in outputs]
    users = session.exec(
        select(ItemLink.step_id, Item.code)
        .join(Item, col(Item.id) == ItemLink.parent_id)
        .where(col(ItemLink.parent_id).in_(output_ids), col(ItemLink.active))
        .distinct()
    ).all()
    if users:
        raise Conflict(
            f"outputs of step {step_id} are used by later steps; void those first",
            [problem("/", f"{code} is an input of step {later}") for later, code in users],
        )

    for output in outputs:
        if output.status != ItemStatus.voided:
            items.mark_voided(session, user, output, f"step {step_id} voided: {reason}")
    for row in session.exec(select(StepInput).where(StepInput.step_id == step_id)).all():
        if row.consumed_value:
            item = session.get(Item, row.item_id, with_for_update=True, populate_existing=True)
            assert item is not None and item.remaining_value is not None
            item.remaining_value += row.consumed_value
            if item.status == ItemStatus.consumed:
                item.status = ItemStatus.released.value
            item.version += 1
            item.updated_at = utcnow()
            items.record_version(session, item, "restored", user, f"step {step_id} voided: {reason}")
    session.execute(update(ItemLink).where(col(ItemLink.step_id) == step_id).values(active=False))
    drop_ancestry(session, [o.id for o in outputs if o.id is not None])
    step.status, step.void_reason, step.voided_at = "voided", reason, utcnow()
    session.add(step)
    session.flush()
    note_event(session, "step.voided", "step", step_id, data={"status": "voided"}, reason=reason)
    return step


def step_out(session: Session, step: Step) -> StepOut:
    return steps_out(session, [step])[0]


def steps_out(session: Session, steps: Sequence[Step]) -> list[StepOut]:
    """These steps as shown, their inputs, outputs and instruments read in one query each."""
    ids = [step.id or 0 for step in steps]
    used: dict[int, list[tuple[str, Item, float | None, str | None]]] = {}
    for row, item in session.exec(
        select(StepInput, Item).join(Item).where(col(StepInput.step_id).in_(ids)).order_by(col(StepInput.id))
    ).all():
        used.setdefault(row.step_id, []).append((row.role, item, row.amount_value, row.amount_unit))
    made: dict[int, list[Item]] = {}
    for item in session.exec(
        select(Item).where(col(Item.produced_by_step_id).in_(ids)).order_by(col(Item.id))
    ).all():
        made.setdefault(item.produced_by_step_id or 0, []).append(item)
    instruments = instrument_uses.instruments_used_in(session, ids)
    return [
        _step_out(
            session,
            step,
            items.username_of(session, step.operator_id),
            used.get(step.id or 0, []),
            made.get(step.id or 0, []),
            instruments.get(step.id or 0, []),
        )
        for step in steps
    ]


def _step_out(
    session: Session,
    step: Step,
    operator: str,
    used: list[tuple[str, Item, float | None, str | None]],
    outputs: list[Item],
    instruments: list[StepInstrumentOut] | None = None,
) -> StepOut:
    return StepOut(
        id=step.id or 0,
        protocol=step.protocol,
        status=step.status,
        operator=operator,
        started_at=step.started_at,
        ended_at=step.ended_at,
        parameters=step.parameters,
        inputs=[
            StepInputOut(
                role=role,
                item=items.item_ref(session, item),
                amount=Quantity(value=value, unit=unit) if value is not None and unit else None,
            )
            for role, item, value, unit in used
        ],
        outputs=[items.item_ref(session, o) for o in outputs],
        notes=step.notes,
        created_at=step.created_at,
        void_reason=step.void_reason,
        deviating=step.deviating,
        deviations=[Deviation.model_validate(d) for d in step.deviations],
        normalized={k: Quantity.model_validate(v) for k, v in step.normalized.items()},
        computed={k: Quantity.model_validate(v) for k, v in step.computed.items()},
        instruments=instruments or [],
    )
