"""Logging a step from /ui: a form generated from a template version, sent as the body POST /api/v1/steps
takes (field names are its paths), checked and logged by the same domain code; a dry run on request."""

from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from labrules.validator import check_step
from schemas import ItemStatus, ProblemItem, Quantity, StepIn, TemplateCheckIn, TemplateIn, TemplateKind
from schemas.templates import Limits, ParameterKind, ParameterSpec
from service.db import open_writer, reading
from service.errors import DomainError, Invalid, problem
from service.items import logic as items
from service.items import queries as item_queries
from service.steps import logic as steps
from service.templates import logic as templates
from service.templates.tables import Template
from service.ui.form_body import MAX_INDEX, Rows, drop_empty_rows
from service.ui.forms import Placed, Posted, PostedForm, checked, new_key, place, submit
from service.ui.pages import ReadSession, Recorder, engine_of, page, problems_of, ui_router

router = ui_router()

USABLE_SHOWN = 50  # per item type: the newest usable items offered for a role; any other code can be typed
# An empty input row still carries its role, an empty deviation its field: such rows are not sent.
ALWAYS_SENT = {"inputs": ("role",), "outputs": (), "deviations": ("field",)}


# --- the form, as fields the page renders -----------------------------------------------------------------


@dataclass
class Slot:
    """Where a justification for an out-of-range value is written: it becomes deviations.{n}."""

    n: int
    pointer: str
    text: str


@dataclass
class Field:
    name: str
    label: str
    value: str = ""
    hint: str = ""
    kind: str = "text"  # text, select, item (typed or picked from a list), hidden, datetime-local
    choices: list[tuple[str, str]] = field(default_factory=list)
    problems: list[ProblemItem] = field(default_factory=list)
    deviation: Slot | None = None


@dataclass
class RoleRows:
    role: str
    types: list[str]
    description: str
    amount: str
    count: str
    rows: list[tuple[int, Field, Field]]  # (row number, item, amount)
    usable: list[tuple[str, str]]
    can_add: bool
    problems: list[ProblemItem] = field(default_factory=list)


@dataclass
class OutputRow:
    n: int
    description: str
    fields: list[Field]


@dataclass
class CheckRow:
    field: Field
    expected: str
    computed: str


@dataclass
class StepForm:
    ref: str
    title: str
    description: str
    parameters: list[Field]
    roles: list[RoleRows]
    outputs: list[OutputRow]
    checks: list[CheckRow]
    times: list[Field]
    notes: Field
    general: list[ProblemItem]
    output_problems: list[ProblemItem]
    key: str
    refused: int = 0  # problems found, when the step was sent and refused
    unusable: list[ProblemItem] = field(default_factory=list)  # why this version takes no new step
    dry_run: Any = None


def _limits(spec: Limits | None) -> str:
    return spec.describe() if spec is not None and spec.ranged() else (spec.unit or "") if spec else ""


def _shown(value: Quantity) -> str:
    return f"{value.value:.4g}" + ("" if value.unit == "dimensionless" else f" {value.unit}")


def _parameter(spec: ParameterSpec, value: str) -> Field:
    name = f"parameters.{spec.name}"
    label = spec.name.replace("_", " ") + ("" if spec.required else " (optional)")
    hint = spec.description
    if spec.kind == ParameterKind.choice:
        choices = [("", "— choose —")] + [(c, c) for c in spec.choices or []]
        return Field(name, label, value, hint, "select", choices)
    if spec.kind == ParameterKind.bool:
        return Field(name, label, value, hint, "select", [("", "—"), ("true", "yes"), ("false", "no")])
    if spec.kind in (ParameterKind.quantity, ParameterKind.number):
        hint = "; ".join(part for part in (_limits(spec), spec.description) if part)
    return Field(name, label, value, hint)


def _usable(session: Session, types: list[str]) -> list[tuple[str, str]]:
    """The items of these types a step may use now, newest first, each with what is left of it."""
    offered = []
    for type_name in types:
        for item in item_queries.list_items(
            session,
            kind=None,
            type_name=type_name,
            status=ItemStatus.released,
            q=None,
            before_id=None,
            limit=USABLE_SHOWN,
        ):
            left = (
                f" · {item.remaining_value:g} {item.quantity_unit} left"
                if item.remaining_value is not None
                else ""
            )
            offered.append((item.code, f"{item.name or type_name}{left}"))
    return offered


def _row_numbers(values: dict[str, str]) -> set[int]:
    """The numbers of the input rows a form sent (inputs.N.role)."""
    found = set()
    for key in values:
        parts = key.split(".")
        numbered = len(parts) == 3 and parts[1].isdigit() and int(parts[1]) <= MAX_INDEX
        if numbered and parts[0] == "inputs" and parts[2] == "role":
            found.add(int(parts[1]))
    return found


def _input_rows(definition: TemplateIn, values: dict[str, str]) -> list[tuple[int, str]]:
    """(row number, role) of every input row: as posted, or the template's minimum (at least one per role)."""
    posted = sorted(_row_numbers(values))
    if posted:
        return [(n, values[f"inputs.{n}.role"]) for n in posted]
    rows: list[tuple[int, str]] = []
    for spec in definition.inputs:
        rows += [(len(rows) + i, spec.role) for i in range(max(spec.min_count, 1))]
    return rows


def build_form(
    session: Session,
    row: Template,
    values: dict[str, str],
    placed: Placed,
    excusable: list[str],
    dry_run: Any = None,
    sent: bool = True,
) -> StepForm:
    """The step form of template `row`, filled with `values`, each problem at its field and a justification
    slot beside every value out of its range."""
    definition = templates.definition_of(row)
    ref = f"{row.name}@{row.version}"
    posted_deviations = {
        values[key].lstrip("/").replace("/", "."): values.get(key.removesuffix("field") + "justification", "")
        for key in values
        if key.startswith("deviations.") and key.endswith(".field")
    }
    slots: list[Slot] = []

    def finish(f: Field) -> Field:
        f.problems = placed.at.get(f.name, [])
        if f.name in excusable or f.name in posted_deviations:
            f.deviation = Slot(len(slots), "/" + f.name.replace(".", "/"), posted_deviations.get(f.name, ""))
            slots.append(f.deviation)
        return f

    parameters = [
        finish(_parameter(spec, values.get(f"parameters.{spec.name}", ""))) for spec in definition.parameters
    ]
    rows = _input_rows(definition, values)
    roles = []
    for spec in definition.inputs:
        mine = [n for n, role in rows if role == spec.role]
        count = (
            f"{spec.min_count}–{spec.max_count}" if spec.max_count != spec.min_count else str(spec.min_count)
        )
        roles.append(
            RoleRows(
                role=spec.role,
                types=spec.types,
                description=spec.description,
                amount=_limits(spec.amount),
                count=count if spec.max_count is not None else f"at least {spec.min_count}",
                rows=[
                    (
                        n,
                        finish(
                            Field(f"inputs.{n}.item", "item", values.get(f"inputs.{n}.item", ""), kind="item")
                        ),
                        finish(Field(f"inputs.{n}.amount", "amount", values.get(f"inputs.{n}.amount", ""))),
                    )
                    for n in mine
                ],
                usable=_usable(session, spec.types),
                can_add=spec.max_count is None or len(mine) < spec.max_count,
                problems=[p for p in placed.at.get("inputs", []) if f" {spec.role} " in f" {p.detail} "],
            )
        )
    outputs = []
    for n, made in enumerate(definition.outputs):
        key = f"outputs.{n}"
        fields = []
        if len(made.types) == 1 and made.min_count >= 1:
            fields.append(Field(f"{key}.type", "type", made.types[0], kind="hidden"))
        else:
            choices = ([("", "— not made —")] if made.min_count == 0 else []) + [(t, t) for t in made.types]
            fields.append(
                Field(f"{key}.type", "type", values.get(f"{key}.type", ""), kind="select", choices=choices)
            )
        if made.max_count is None or made.max_count > 1:
            fields.append(
                Field(f"{key}.count", "how many", values.get(f"{key}.count", str(max(made.min_count, 1))))
            )
        if made.quantity is not None:
            fields.append(
                Field(
                    f"{key}.quantity", "quantity", values.get(f"{key}.quantity", ""), _limits(made.quantity)
                )
            )
        fields.append(Field(f"{key}.name", "name (optional)", values.get(f"{key}.name", "")))
        for prop in made.properties:
            fields.append(
                Field(
                    f"{key}.properties.{prop.name}",
                    prop.name.replace("_", " ") + ("" if prop.required else " (optional)"),
                    values.get(f"{key}.properties.{prop.name}", ""),
                    "; ".join(part for part in (_limits(prop), prop.description) if part),
                )
            )
        outputs.append(OutputRow(n, made.description or " or ".join(made.types), [finish(f) for f in fields]))
    computed = dry_run.computed if dry_run is not None else {}
    checks = [
        CheckRow(
            finish(Field(f"checks.{check.name}", check.description or check.name)),
            check.describe(),
            _shown(computed[check.name]) if check.name in computed else "",
        )
        for check in definition.checks
    ]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M")
    times = [
        finish(Field("started_at", "started (UTC)", values.get("started_at", now), kind="datetime-local")),
        finish(Field("ended_at", "ended (UTC)", values.get("ended_at", now), kind="datetime-local")),
    ]
    return StepForm(
        ref=ref,
        title=definition.title,
        description=definition.description,
        parameters=parameters,
        roles=roles,
        outputs=outputs,
        checks=checks,
        times=times,
        notes=finish(Field("notes", "notes", values.get("notes", ""))),
        general=placed.general,
        output_problems=placed.at.get("outputs", []),
        key=values.get("idempotency_key") or new_key(),
        refused=placed.count if sent and dry_run is None else 0,
        unusable=[] if sent else placed.general,
        dry_run=dry_run,
    )


def form_fields(definition: TemplateIn, values: dict[str, str]) -> list[str]:
    """Every field name the form of `definition` has (where a problem can be shown)."""
    names = ["started_at", "ended_at", "notes", "inputs", "outputs"]
    names += [f"parameters.{p.name}" for p in definition.parameters]
    names += [f"checks.{c.name}" for c in definition.checks]
    for n, _ in _input_rows(definition, values):
        names += [f"inputs.{n}.item", f"inputs.{n}.amount", f"inputs.{n}.role"]
    for n, spec in enumerate(definition.outputs):
        names += [f"outputs.{n}.{key}" for key in ("type", "count", "quantity", "name")]
        names += [f"outputs.{n}.properties.{p.name}" for p in spec.properties]
    return names


# --- from the form to the body ----------------------------------------------------------------------------


def _typed(body: dict[str, Any], definition: TemplateIn) -> dict[str, Any]:
    """Form text as the JSON types the template's parameters take: numbers, true/false; times in UTC."""
    kinds = {p.name: p.kind for p in definition.parameters}
    parameters = body.get("parameters")
    if isinstance(parameters, dict):
        for name, value in parameters.items():
            if kinds.get(name) == ParameterKind.number:
                with suppress(TypeError, ValueError):  # else left as text: the template says "a number"
                    parameters[name] = float(value)
            elif kinds.get(name) == ParameterKind.bool and value in ("true", "false"):
                parameters[name] = value == "true"
            elif kinds.get(name) == ParameterKind.quantity:
                # Stored as {"value", "unit"}, as the API stores a quantity sent so; else left as text, and
                # the template says what a value with a unit looks like.
                with suppress(ValidationError):
                    parameters[name] = Quantity.model_validate(value).model_dump()
    for when in ("started_at", "ended_at"):
        if isinstance(body.get(when), str) and len(body[when]) == 16:  # what a datetime-local field sends
            body[when] += ":00+00:00"
    return body


def _retargeted(problems: list[ProblemItem], body: dict[str, Any]) -> list[ProblemItem]:
    """A problem with a deviation is shown at the value it excuses."""
    given = body.get("deviations") or []
    moved = []
    for item in problems:
        parts = item.pointer.split("/")
        if len(parts) > 2 and parts[1] == "deviations" and parts[2].isdigit() and int(parts[2]) < len(given):
            excused = given[int(parts[2])]
            if isinstance(excused, dict) and isinstance(excused.get("field"), str):
                detail = f"the justification: {item.detail}"
                item = item.model_copy(update={"pointer": excused["field"], "detail": detail})
        moved.append(item)
    return moved


def _out_of_range(session: Session, row: Template, step: StepIn, rows: Rows) -> list[str]:
    """The form fields whose values are out of their template's range: each may be justified."""
    types = []
    for given in step.inputs:
        item = items.recorded_now(session, given.item) or next(
            iter(item_queries.items_by_code(session, [given.item])), None
        )
        types.append(items.item_ref(session, item).type if item is not None else None)
    verdict = check_step(
        templates.definition_of(row),
        step.protocol,
        parameters=step.parameters,
        inputs=step.inputs,
        input_types=types,
        outputs=step.outputs,
        deviations=[],
    )
    return [rows.to_form(pointer) for pointer in verdict.out_of_range]


def _template(session: Session, ref: str) -> tuple[Template, list[ProblemItem]]:
    if "@" not in ref or not ref.rpartition("@")[2].isdigit():
        raise Invalid(
            "name the protocol as name@version", [problem("/protocol", "e.g. nh2-mil-101-fe-hydrothermal@1")]
        )
    name, _, version = ref.rpartition("@")
    row = templates.get_version(session, name, int(version))
    _, problems = templates.usable_template(session, ref, for_step=True)
    return row, problems


def _render(
    request: Request,
    session: Session,
    row: Template,
    values: dict[str, str],
    problems: list[ProblemItem],
    rows: Rows | None = None,
    excusable: list[str] | None = None,
    dry_run: Any = None,
    status_code: int = 200,
    sent: bool = True,
) -> HTMLResponse:
    definition = templates.definition_of(row)
    placed = place(problems, form_fields(definition, values), rows)
    form = build_form(session, row, values, placed, excusable or [], dry_run, sent)
    return page(request, "step_form.html", status_code, form=form)


# --- routes -----------------------------------------------------------------------------------------------


@router.get("/steps/new")
def new_step_form(request: Request, session: ReadSession, user: Recorder, protocol: str = "") -> HTMLResponse:
    if not protocol:
        listed = [
            summary
            for summary in templates.list_templates(session, TemplateKind.process)
            if summary.published
        ]
        return page(request, "step_templates.html", templates=listed)
    row, problems = _template(session, protocol.strip())
    return _render(request, session, row, {"protocol": f"{row.name}@{row.version}"}, problems, sent=False)


@router.post("/steps")
def log_step(request: Request, user: Recorder, posted: PostedForm) -> Response:
    form: Posted = checked(request, posted)
    values = form.values
    action = form.get("action", "log")
    with reading(engine_of(request)) as session:
        row, problems = _template(session, form.get("protocol").strip())
        definition = templates.definition_of(row)
        if action.startswith("add-input"):
            # Another row for a role that takes several: a round trip, since the page runs no script.
            role = action.partition(":")[2] or next(
                (r.role for r in definition.inputs if r.max_count is None or r.max_count > 1), ""
            )
            n = 1 + max(_row_numbers(values), default=-1)
            if role in {r.role for r in definition.inputs}:
                values = {**values, f"inputs.{n}.role": role}
            return _render(request, session, row, values, problems, sent=False)
        body = _typed(form.body(), definition)
        rows = drop_empty_rows(body, ALWAYS_SENT)
        try:
            step = StepIn.model_validate(body)
        except ValidationError as refused:
            return _render(
                request, session, row, values, _retargeted(problems_of(refused), body), rows, status_code=422
            )
        excusable = _out_of_range(session, row, step, rows)
        if action == "check":
            check = templates.check_values(
                session,
                row.name,
                row.version,
                TemplateCheckIn(
                    parameters=step.parameters,
                    inputs=step.inputs,
                    outputs=step.outputs,
                    deviations=step.deviations,
                ),
            )
            found = _retargeted(problems + check.problems, body)
            return _render(request, session, row, values, found, rows, excusable, dry_run=check)
    try:
        with open_writer(request) as session:
            cap = request.app.state.settings.max_outputs_per_step
            shown = submit(
                request,
                session,
                user,
                form,
                step,
                lambda: steps.log_step(session, user, step, max_outputs=cap),
            )
    except DomainError as refused:
        with reading(engine_of(request)) as session:
            return _render(
                request,
                session,
                row,
                values,
                _retargeted(problems_of(refused), body),
                rows,
                excusable,
                status_code=refused.status,
            )
    return RedirectResponse(f"/ui/steps/{shown['id']}", status_code=303)
