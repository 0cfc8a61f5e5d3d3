"""The rules for templates: publishing and retiring versions, the library, checking steps, quality release."""

from collections.abc import Sequence
from importlib import resources
from typing import Any

import yaml
from sqlmodel import Session, col, select

from labrules.validator import InstrumentFacts, Verdict, check_step, template_problems
from schemas import (
    ProblemItem,
    StepIn,
    TemplateChange,
    TemplateCheckIn,
    TemplateCheckOut,
    TemplateDiff,
    TemplateIn,
    TemplateKind,
    TemplateOut,
    TemplateStatus,
    TemplateSummary,
)
from service.auth.tables import User
from service.db import utcnow
from service.errors import Conflict, Invalid, NotFound, problem
from service.items import logic as items
from service.items.tables import Item, ItemType
from service.templates.tables import Template
from service.work import note_event, work_of

BUILT_IN = "cellprov"  # shown as the author of the library templates loaded at first start


# --- reading ----------------------------------------------------------------------------------------------


_DEFINITIONS: dict[tuple[Any, ...], TemplateIn] = {}


def definition_of(row: Template) -> TemplateIn:
    """The parsed definition. A published version never changes, so it is parsed once per process; the key
    includes the creation time, so a database rebuilt with other templates under the same ids (the tests)
    cannot be served a stale one."""
    key = (row.id, row.name, row.version, row.created_at)
    parsed = _DEFINITIONS.get(key)
    if parsed is None:
        if len(_DEFINITIONS) > 1000:
            _DEFINITIONS.clear()
        parsed = _DEFINITIONS[key] = TemplateIn.model_validate({**row.definition, "version": row.version})
    return parsed


# Fields added after templates were first stored: left out while unused, so the definitions (and the audit
# events) of templates that do not use them stay what they always were.
_LATER_FIELDS = ("instruments", "requires_calibrated_equipment")


def stored_definition(body: TemplateIn) -> dict[str, Any]:
    """The definition as stored and chained: everything but the version, and later fields only when set."""
    unset = {name for name in _LATER_FIELDS if not getattr(body, name)}
    return body.model_dump(mode="json", exclude={"version", *unset})


def template_out(session: Session, row: Template) -> TemplateOut:
    author = session.get(User, row.created_by_id) if row.created_by_id is not None else None
    return TemplateOut(
        **definition_of(row).model_dump(exclude={"version"}),
        version=row.version,
        ref=f"{row.name}@{row.version}",
        status=TemplateStatus(row.status),
        created_at=row.created_at,
        created_by=author.username if author else BUILT_IN,
        retired_at=row.retired_at,
        retire_reason=row.retire_reason,
    )


def _versions(session: Session, name: str) -> list[Template]:
    return list(
        session.exec(select(Template).where(Template.name == name).order_by(col(Template.version))).all()
    )


def list_templates(session: Session, kind: TemplateKind | None = None) -> list[TemplateSummary]:
    query = select(Template).order_by(col(Template.name), col(Template.version))
    if kind is not None:
        query = query.where(Template.kind == kind.value)
    summaries: dict[str, TemplateSummary] = {}
    for row in session.exec(query).all():
        summary = summaries.get(row.name)
        if summary is None:
            summary = summaries[row.name] = TemplateSummary(
                name=row.name,
                title=row.title,
                kind=TemplateKind(row.kind),
                latest=row.version,
                published=[],
                retired=[],
            )
        summary.title, summary.latest = row.title, row.version
        (summary.published if row.status == TemplateStatus.published else summary.retired).append(row.version)
    return list(summaries.values())


def get_latest(session: Session, name: str) -> Template:
    versions = _versions(session, name)
    if not versions:
        raise NotFound(f"no template named {name!r}")
    return versions[-1]


def get_version(session: Session, name: str, version: int) -> Template:
    row = session.exec(select(Template).where(Template.name == name, Template.version == version)).first()
    if row is None:
        raise NotFound(f"no template {name}@{version}")
    return row


# --- writing ----------------------------------------------------------------------------------------------


def _known_types(session: Session) -> set[str]:
    return set(session.exec(select(ItemType.name)).all())


def publish(
    session: Session, user: User | None, body: TemplateIn, *, max_outputs: int | None = None
) -> Template:
    """Publish `body` as the next version of its name (version 1 for a new name). Published versions are
    never changed: asking for a version that exists is a conflict, and so is a copy of the latest one.
    `max_outputs` caps what one output may let a step make (the server's bounded work per request)."""
    problems = template_problems(body, _known_types(session))
    if max_outputs is not None:
        problems += [
            problem(
                f"/outputs/{n}/max_count",
                f"a step may make at most {max_outputs} items (CELLPROV_MAX_OUTPUTS_PER_STEP)",
                expected=f"<= {max_outputs}",
                got=spec.max_count,
            )
            for n, spec in enumerate(body.outputs)
            if spec.max_count is not None and spec.max_count > max_outputs
        ]
    if problems:
        raise Invalid("the template is not valid", problems)
    versions = _versions(session, body.name)
    latest = versions[-1] if versions else None
    next_version = latest.version + 1 if latest else 1
    if body.version is not None and body.version != next_version:
        raise Conflict(
            f"{body.name}@{body.version} cannot be published: published versions are immutable",
            [
                problem(
                    "/version",
                    "publish a change as the next version",
                    expected=next_version,
                    got=body.version,
                )
            ],
        )
    definition = stored_definition(body)
    if latest is not None and latest.definition == definition:
        raise Conflict(
            f"nothing changed since {body.name}@{latest.version}",
            [
                problem(
                    "/",
                    "the template is identical to the latest version",
                    expected="a change",
                    got=latest.version,
                )
            ],
        )
    row = Template(
        name=body.name,
        version=next_version,
        title=body.title,
        kind=body.kind.value,
        status=TemplateStatus.published.value,
        definition=definition,
        created_at=utcnow(),
        created_by_id=user.id if user else None,
    )
    session.add(row)
    session.flush()
    note_event(
        session,
        "template.published",
        "template",
        f"{row.name}@{row.version}",
        version=row.version,
        data=definition,
    )
    return row


def retire(session: Session, user: User, name: str, version: int, reason: str) -> Template:
    """Stop new steps on a version; steps already logged against it keep pointing at it."""
    row = get_version(session, name, version)
    if row.status == TemplateStatus.retired:
        raise Conflict(
            f"{name}@{version} is already retired", [problem("/reason", f"retired: {row.retire_reason}")]
        )
    row.status, row.retired_at, row.retired_by_id, row.retire_reason = (
        TemplateStatus.retired.value,
        utcnow(),
        user.id,
        reason,
    )
    session.add(row)
    session.flush()
    note_event(session, "template.retired", "template", f"{name}@{version}", version=version, reason=reason)
    return row


def load_library(session: Session) -> int:
    """Publish the built-in templates (service/templates/library/*.yaml) that are missing; returns how many.

    Runs at every start. A library file names its version (1 when it does not say): a version the database
    has is left alone, and a later library version is published only as the next version of the library's
    own, so the versions a lab published since are never touched and never overtaken.
    """
    library = resources.files("service.templates").joinpath("library")
    bodies = [
        TemplateIn.model_validate(yaml.safe_load(entry.read_text(encoding="utf-8")))
        for entry in library.iterdir()
        if entry.name.endswith(".yaml")
    ]
    added = 0
    for body in sorted(bodies, key=lambda b: (b.name, b.version or 1)):
        version = body.version or 1
        stored = _versions(session, body.name)
        latest = stored[-1] if stored else None
        if (latest.version if latest else 0) != version - 1:
            continue
        if latest is not None and latest.created_by_id is not None:
            continue  # the lab's own version: the library does not build on it
        publish(session, None, body.model_copy(update={"version": version}))
        added += 1
    return added


# --- diff -------------------------------------------------------------------------------------------------

# Lists whose entries have a natural key: a change is "temperature's nominal", not "parameters/3/nominal".
_KEYS = ("name", "role")


def _keyed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _keyed(v) for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for key in _KEYS:
            if all(key in v for v in value) and len({v[key] for v in value}) == len(value):
                return {v[key]: _keyed(v) for v in value}
        if all("types" in v for v in value):
            return {"+".join(v["types"]): _keyed(v) for v in value}
    return value


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _changes(old: Any, new: Any, pointer: str) -> list[TemplateChange]:
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[TemplateChange] = []
        for key in [*old, *(k for k in new if k not in old)]:
            here = f"{pointer}/{_escape(str(key))}"
            if key not in new:
                found.append(TemplateChange(pointer=here, change="removed", old=old[key]))
            elif key not in old:
                found.append(TemplateChange(pointer=here, change="added", new=new[key]))
            else:
                found += _changes(old[key], new[key], here)
        return found
    return [] if old == new else [TemplateChange(pointer=pointer or "/", change="changed", old=old, new=new)]


def diff(session: Session, name: str, from_version: int, to_version: int) -> TemplateDiff:
    old, new = get_version(session, name, from_version), get_version(session, name, to_version)
    changes = _changes(_keyed(old.definition), _keyed(new.definition), "")
    return TemplateDiff(name=name, from_version=from_version, to_version=to_version, changes=changes)


# --- checking steps ---------------------------------------------------------------------------------------


def _split(ref: str) -> tuple[str, int]:
    name, _, version = ref.partition("@")
    return name, int(version)


def usable_template(
    session: Session, ref: str, *, for_step: bool
) -> tuple[Template | None, list[ProblemItem]]:
    """The template a step names, or the problems with naming it: unknown, retired, or a test protocol."""
    name, version = _split(ref)
    # Read once per session: an import logs thousands of steps against the same few templates.
    known = work_of(session).templates
    row = known.get(ref)
    if row is None:
        row = session.exec(select(Template).where(Template.name == name, Template.version == version)).first()
        if row is not None:
            known[ref] = row
    if row is None:
        versions = [r.version for r in _versions(session, name) if r.status == TemplateStatus.published]
        expected = [f"{name}@{v}" for v in versions] or "a published template; see GET /api/v1/templates"
        return None, [
            problem("/protocol", "unknown protocol: no such template version", expected=expected, got=ref)
        ]
    if row.status == TemplateStatus.retired:
        later = [r.version for r in _versions(session, name) if r.status == TemplateStatus.published]
        return row, [
            problem(
                "/protocol",
                f"{ref} is retired ({row.retire_reason}); no new steps may use it",
                expected=[f"{name}@{v}" for v in later] or "a published version",
                got=ref,
            )
        ]
    if for_step and row.kind == TemplateKind.test:
        return row, [
            problem(
                "/protocol",
                f"{ref} is a test protocol: it sets up a measurement of a cell, not a step that makes items; "
                "check its settings with POST /api/v1/templates/{name}/versions/{n}/check",
                expected="a process template",
                got=ref,
            )
        ]
    return row, []


# What the validator reads of a step: not the item codes, output codes or names, notes or times. Steps that
# agree on these get the same verdict, so the verdicts of conforming steps are kept (a lab repeats a recipe
# with the same amounts hundreds of times; an import, thousands).
_JUDGED_FIELDS: Any = {
    "parameters": True,
    "deviations": True,
    "inputs": {"__all__": {"role", "amount"}},
    "outputs": {"__all__": {"type", "count", "quantity", "properties"}},
    "instruments": True,
}
_VERDICTS: dict[tuple[Any, ...], Verdict] = {}


def judge_step(
    session: Session,
    body: StepIn,
    input_types: list[str | None],
    instrument_facts: Sequence[InstrumentFacts | None] = (),
) -> tuple[Template | None, Verdict]:
    """The template's verdict on a step (the caller merges its problems with its own)."""
    row, problems = usable_template(session, body.protocol, for_step=True)
    if row is None or problems:
        return row, Verdict(problems=problems)
    judged = body.model_dump_json(include=_JUDGED_FIELDS)
    key = (row.id, row.name, row.version, row.created_at, judged, *input_types, *instrument_facts)
    known = _VERDICTS.get(key)
    if known is not None:
        # A fresh Verdict: the caller must not be able to change the kept one.
        return row, Verdict(
            deviations=list(known.deviations),
            normalized=dict(known.normalized),
            computed=dict(known.computed),
        )
    verdict = check_step(
        definition_of(row),
        body.protocol,
        parameters=body.parameters,
        inputs=body.inputs,
        input_types=input_types,
        outputs=body.outputs,
        deviations=body.deviations,
        instruments=body.instruments,
        instrument_facts=instrument_facts,
    )
    # Only a verdict without problems is kept: problems name the items, which the key leaves out.
    if not verdict.problems:
        if len(_VERDICTS) > 4096:
            _VERDICTS.clear()
        _VERDICTS[key] = verdict
    return row, verdict


def quarantines(row: Template | None, output_type: str) -> bool:
    if row is None:
        return False
    return any(output_type in spec.types and spec.quarantined for spec in definition_of(row).outputs)


def check_values(session: Session, name: str, version: int, body: TemplateCheckIn) -> TemplateCheckOut:
    """A dry run: what the template says about these values, without logging anything."""
    ref = f"{name}@{version}"
    row, problems = usable_template(session, ref, for_step=False)
    if row is None:
        raise NotFound(f"no template {ref}")
    input_types: list[str | None] = []
    for n, given in enumerate(body.inputs):
        item = session.exec(select(Item).where(Item.code == given.item)).first()
        if item is None:
            problems.append(problem(f"/inputs/{n}/item", "no item with this code", got=given.item))
            input_types.append(None)
        else:
            input_types.append(items.item_ref(session, item).type)
    verdict = check_step(
        definition_of(row),
        ref,
        parameters=body.parameters,
        inputs=body.inputs,
        input_types=input_types,
        outputs=body.outputs,
        deviations=body.deviations,
    )
    all_problems = problems + verdict.problems
    return TemplateCheckOut(
        protocol=ref,
        conforms=not all_problems,
        deviating=verdict.deviating,
        problems=all_problems,
        deviations=verdict.deviations,
        normalized=verdict.normalized,
        computed=verdict.computed,
    )
