"""The round trip: an .eln archive that cellprov exported, imported as the same records instead of entries.

An archive is recognised as cellprov's by its `cellprov-records.json` (format `cellprov-records`, a File of
the crate, written by service.exports.eln): the items, steps, test runs, analyses and entries as the API
showed them, and where their files are in the archive. Everything else about the crate is for other readers.

The rules (README, "Round trip"):

- Items keep their codes. An item whose code is here already is the same record when its kind, type and
  creation time agree: it is left as it is ("existing"); otherwise the code collides and the import is
  refused with a 409 listing every colliding code. Steps, test runs, analyses and entries have server-local
  ids: a step is here already when its outputs are, a test run when its cell has one with the same protocol,
  raw file and creation time, an analysis by technique, title and creation time, an entry by title and
  creation time. So importing the same archive again (or an overlapping one) creates nothing twice.
- The protocol templates, item types and instruments (of steps) the archive names must be here (any status:
  a retired version still describes the steps logged with it); a missing one refuses the import with a 422
  naming them all. Test runs' channel bindings and e-signatures are not recreated.
- Quantities, what is left, statuses, parameters, amounts, deviations, per-cycle data and metrics are taken
  as the archive has them; nothing is recomputed or consumed again.
- The records are attributed to the importing user here; each is noted in the audit trail as imported
  (`item.imported`, `step.imported`, ...) with the archive's SHA-256 and the original author, creation time
  and id, and the import itself as `eln.imported`. The original events are never replayed. Creation times
  are kept as they were; version histories start at the import (version 1, "imported").
- All or nothing: everything is checked (and every file read, its SHA-256 checked and staged) before the
  first row is written; a refusal writes nothing and keeps no bytes.
"""

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import insert
from sqlmodel import Session

from labrules import units
from schemas import ItemOut, ProblemItem, StepOut
from schemas.analyses import AnalysisOut
from schemas.cycling import CycleOut, TestRunOut
from schemas.eln_import import ElnEntity, ElnImportOut
from schemas.entries import EntryOut
from service.analyses.tables import Analysis, AnalysisFile, AnalysisSubject
from service.auth.tables import User
from service.cycling.tables import TestCycle, TestRun
from service.db import insert_new, utcnow
from service.entries.logic import entry_out
from service.entries.tables import Entry, EntryAttachment, EntryLink, EntryTag, EntryVersion
from service.errors import Conflict, Invalid, problem
from service.exports.eln import RECORDS_FILE, RECORDS_FORMAT, RECORDS_VERSION
from service.files import logic as files
from service.files.intake import Intake
from service.files.store import Stored
from service.imports import queries
from service.imports.eln_archive import Crate
from service.instruments.tables import StepInstrument
from service.items import logic as items
from service.items.tables import Item, ItemType
from service.lineage.closure import extend_ancestry
from service.steps.tables import ItemLink, Step, StepInput
from service.work import insert_later, note_event


class _Filed(BaseModel):
    """A record and where its files are in the archive (sha256 or name -> archive path, None if left out)."""

    record: dict[str, Any]
    files: dict[str, str | None] = {}


class _Document(BaseModel):
    format: str
    version: int
    exported_from: str = ""
    root: str = ""
    people: dict[str, dict[str, Any]] = {}
    items: list[ItemOut]
    steps: list[StepOut]
    tests: list[_Filed] = []
    analyses: list[_Filed] = []
    entries: list[_Filed] = []


@dataclass
class Records:
    """What a cellprov archive holds, read from its cellprov-records.json."""

    exported_from: str
    people: dict[str, dict[str, Any]]
    items: list[ItemOut]
    steps: list[StepOut]
    tests: list[tuple[TestRunOut, dict[str, str | None]]]
    analyses: list[tuple[AnalysisOut, dict[str, str | None]]]
    entries: list[tuple[EntryOut, dict[str, str | None]]]


def _types(node: dict[str, Any]) -> list[str]:
    kind = node.get("@type", [])
    return [k for k in (kind if isinstance(kind, list) else [kind]) if isinstance(k, str)]


def recognise(crate: Crate) -> Records | None:
    """The records of an archive cellprov wrote, or None for any other archive (it takes the entries path).
    A cellprov-records.json that says it is one but cannot be read is a 422, not a silent fallback."""
    node = crate.nodes.get(RECORDS_FILE)
    info = crate.member(RECORDS_FILE) if node is not None and "File" in _types(node) else None
    if info is None:
        return None
    try:
        raw = json.loads(crate.read(info))
    except (ValueError, RecursionError):
        return None
    if not isinstance(raw, dict) or raw.get("format") != RECORDS_FORMAT:
        return None
    where = f"/file/{RECORDS_FILE}"
    if raw.get("version") != RECORDS_VERSION:
        raise Invalid(
            f"{RECORDS_FILE} is of a version this server does not read",
            [problem(f"{where}/version", f"version {RECORDS_VERSION}", got=raw.get("version"))],
        )
    try:
        document = _Document.model_validate(raw)
        tests = [(TestRunOut.model_validate(t.record), t.files) for t in document.tests]
        analyses = [(AnalysisOut.model_validate(a.record), a.files) for a in document.analyses]
        entries = [(EntryOut.model_validate(e.record), e.files) for e in document.entries]
    except ValidationError as exc:
        raise Invalid(
            f"{RECORDS_FILE} does not describe cellprov records",
            [
                problem(where + "/" + "/".join(str(p) for p in e["loc"]), e["msg"])
                for e in exc.errors(include_url=False)[:50]
            ],
        ) from None
    records = Records(
        document.exported_from, document.people, document.items, document.steps, tests, analyses, entries
    )
    naive = [
        f"{kind}:{getattr(record, 'id', None) or getattr(record, 'code', '?')}"
        for kind, many in (
            ("item", records.items),
            ("step", records.steps),
            ("test_run", [t for t, _ in tests]),
            ("analysis", [a for a, _ in analyses]),
            ("entry", [e for e, _ in entries]),
        )
        for record in many
        if _has_naive_time(record.model_dump())
    ]
    if naive:
        raise Invalid(
            f"{RECORDS_FILE} has times without a zone",
            [problem(where, "timestamps with their UTC offset, as cellprov writes them", got=naive[:20])],
        )
    return records


def _has_naive_time(value: Any) -> bool:
    if isinstance(value, datetime):
        return value.tzinfo is None
    if isinstance(value, dict):
        return any(_has_naive_time(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_naive_time(v) for v in value)
    return False


# --- planning: what is here, what is new, what is missing ------------------------------------------------


@dataclass
class _Plan:
    types: dict[str, ItemType] = field(default_factory=dict)
    templates: dict[str, int] = field(default_factory=dict)
    instruments: dict[str, int] = field(default_factory=dict)
    """Instrument code -> its id here, for the instruments the new steps were done with."""
    here: dict[str, Item] = field(default_factory=dict)
    """Items by code that are here already (the archive's own, or inputs it names)."""
    new_items: list[ItemOut] = field(default_factory=list)
    steps: dict[int, int] = field(default_factory=dict)
    """Source step id -> the step here (existing ones now, new ones once written)."""
    new_steps: list[StepOut] = field(default_factory=list)
    tests: dict[int, int] = field(default_factory=dict)
    new_tests: list[tuple[TestRunOut, dict[str, str | None]]] = field(default_factory=list)
    analyses: dict[int, int] = field(default_factory=dict)
    new_analyses: list[tuple[AnalysisOut, dict[str, str | None]]] = field(default_factory=list)
    entries: dict[int, int] = field(default_factory=dict)
    new_entries: list[tuple[EntryOut, dict[str, str | None]]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    """SHA-256 -> archive path of every file to be read from the archive (not here already)."""


def _same_time(a: datetime, b: datetime) -> bool:
    try:
        return abs((a - b).total_seconds()) < 1e-3
    except TypeError:  # a naive time is refused before; never the same as a stored one
        return False


def _same_item(here: Item, archived: ItemOut, type_name: str) -> bool:
    return (
        here.kind == archived.kind.value
        and type_name == archived.type
        and _same_time(here.created_at, archived.created_at)
    )


def _plan(session: Session, crate: Crate, records: Records) -> _Plan:
    plan = _Plan()
    archived = {item.code: item for item in records.items}
    inputs = {given.item.code: given.item for step in records.steps for given in step.inputs}
    plan.here = queries.items_with_codes(session, sorted(set(archived) | set(inputs)))
    collisions: list[ProblemItem] = []
    missing: list[ProblemItem] = []

    for code, item in archived.items():
        found = plan.here.get(code)
        if found is None:
            plan.new_items.append(item)
        elif not _same_item(found, item, items.type_of(session, found).name):
            collisions.append(
                problem(
                    f"/items/{code}",
                    "an item with this code is here and is another record",
                    expected=f"{item.kind.value} of type {item.type}, created {item.created_at.isoformat()}",
                    got=f"{found.kind} of type {items.type_of(session, found).name}, "
                    f"created {found.created_at.isoformat()}",
                )
            )
    for code, ref in inputs.items():
        found = plan.here.get(code)
        if code in archived:
            continue
        if found is None:
            missing.append(
                problem(
                    f"/inputs/{code}",
                    "a step of the archive used this item, which neither the archive nor this server holds "
                    "(export upstream, or import the archive holding it first)",
                    got=code,
                )
            )
        elif items.type_of(session, found).name != ref.type:
            collisions.append(
                problem(f"/items/{code}", "the step's input is here as another record", got=ref.type)
            )

    kinds = {item.type: item.kind.value for item in plan.new_items}
    for type_name in sorted(kinds):
        item_type = items.find_type(session, type_name)
        if item_type is None:
            missing.append(problem("/types", "an item type this server lacks", got=type_name))
        elif item_type.kind != kinds[type_name]:
            missing.append(
                problem(
                    "/types", f"{type_name} here is of kind {item_type.kind}", kinds[type_name], type_name
                )
            )
        else:
            plan.types[type_name] = item_type
    refs = sorted({step.protocol for step in records.steps} | {run.protocol for run, _ in records.tests})
    known = queries.templates_named(session, refs)
    plan.templates = {ref: row.id or 0 for ref, row in known.items()}
    missing += [
        problem("/protocols", "a protocol template version this server lacks (publish it first)", got=ref)
        for ref in refs
        if ref not in known
    ]

    new_codes = {item.code for item in plan.new_items}
    for step in sorted(records.steps, key=lambda s: s.id):
        made = [o.code for o in step.outputs if o.code in archived]
        fresh = [code for code in made if code in new_codes]
        if made and not fresh:
            producers = {plan.here[code].produced_by_step_id for code in made}
            if len(producers) == 1 and None not in producers:
                plan.steps[step.id] = producers.pop() or 0
                continue
        if fresh and len(fresh) != len(made):
            collisions.append(
                problem(
                    f"/steps/{step.id}",
                    "some outputs of this step are here, others are not",
                    got=sorted(set(made) - set(fresh)),
                )
            )
            continue
        plan.new_steps.append(step)

    used = sorted({i.instrument for step in plan.new_steps for i in step.instruments})
    registered = queries.instruments_with_codes(session, used)
    plan.instruments = {code: row.id or 0 for code, row in registered.items()}
    missing += [
        problem("/instruments", "an instrument a step was done with, not registered here", got=code)
        for code in used
        if code not in registered
    ]
    _check_order(plan, missing)
    _check_amounts(plan, archived, missing)
    _plan_tests(session, crate, records, plan, missing)
    _plan_analyses(session, crate, records, plan, missing)
    _plan_entries(session, crate, records, plan, missing)
    if collisions:
        raise Conflict(
            f"{len(collisions)} record(s) of the archive collide with different records here; nothing was "
            "imported",
            collisions,
        )
    if missing:
        raise Invalid(
            f"the archive names {len(missing)} thing(s) this server lacks; nothing was imported", missing
        )
    return plan


def _check_order(plan: _Plan, missing: list) -> None:
    """Each new step uses only what is here, what was received, or what an earlier step made (the order
    the steps were logged in, which cellprov writes them in)."""
    producing = {step.id for step in plan.new_steps}
    new = {item.code for item in plan.new_items}
    ready = set(plan.here) | {item.code for item in plan.new_items if item.produced_by not in producing}
    for step in plan.new_steps:
        for n, given in enumerate(step.inputs):
            if given.item.code in new and given.item.code not in ready:
                missing.append(
                    problem(
                        f"/steps/{step.id}/inputs/{n}/item",
                        "an item received, here, or made by an earlier step of the archive",
                        got=given.item.code,
                    )
                )
        ready |= {item.code for item in plan.new_items if item.produced_by == step.id}


def _check_amounts(plan: _Plan, archived: dict[str, ItemOut], missing: list) -> None:
    """Each amount a new step takes can be taken off its item in the item's own unit."""
    for step in plan.new_steps:
        for n, given in enumerate(step.inputs):
            code = given.item.code
            item = archived.get(code)
            unit = (item.quantity.unit if item.quantity else None) if item else None
            if item is None and code in plan.here:
                unit = plan.here[code].quantity_unit
            if given.amount is None or unit is None:
                continue
            try:
                units.convert(given.amount, unit)
            except Exception:  # pint's errors: a unit it does not know, or another dimension
                missing.append(
                    problem(
                        f"/steps/{step.id}/inputs/{n}/amount",
                        f"an amount of {code} in {unit} or a unit convertible to it",
                        got=f"{given.amount.value} {given.amount.unit}",
                    )
                )


def _need_file(
    crate: Crate, plan: _Plan, sha256: str, path: str | None, here: bool, where: str, missing: list
) -> None:
    if here or sha256 in plan.files:
        return
    if path is None or crate.member(path) is None:
        missing.append(
            problem(where, "the archive leaves this file out and this server does not have it", got=sha256)
        )
        return
    plan.files[sha256] = path


def _plan_tests(session: Session, crate: Crate, records: Records, plan: _Plan, missing: list) -> None:
    stored = queries.stored_files(session, sorted({run.file.sha256 for run, _ in records.tests}))
    for run, paths in records.tests:
        cell = plan.here.get(run.cell)
        if cell is not None and cell.id is not None:
            match = [
                here.id
                for here, sha in queries.tests_of_cell(session, cell.id)
                if sha == run.file.sha256
                and here.protocol == run.protocol
                and _same_time(here.created_at, run.created_at)
            ]
            if match:
                plan.tests[run.id] = match[0] or 0
                continue
        elif run.cell not in {item.code for item in plan.new_items}:
            missing.append(problem(f"/tests/{run.id}/cell", "the cell is in neither", got=run.cell))
        where = f"/tests/{run.id}"
        _need_file(crate, plan, run.file.sha256, paths.get("raw"), run.file.sha256 in stored, where, missing)
        if paths.get("cycles") is None or crate.member(paths["cycles"] or "") is None:
            missing.append(problem(f"{where}/cycles", "the archive leaves the per-cycle data out"))
        plan.new_tests.append((run, paths))


def _known_code(plan: _Plan, code: str) -> bool:
    return code in plan.here or any(item.code == code for item in plan.new_items)


def _plan_analyses(session: Session, crate: Crate, records: Records, plan: _Plan, missing: list) -> None:
    stored = queries.stored_files(session, sorted({f.sha256 for a, _ in records.analyses for f in a.files}))
    for analysis, paths in records.analyses:
        match = [
            here.id
            for here in queries.analyses_titled(session, analysis.technique, analysis.title)
            if _same_time(here.created_at, analysis.created_at)
        ]
        if match:
            plan.analyses[analysis.id] = match[0] or 0
            continue
        for code in analysis.subjects:
            if not _known_code(plan, code):
                missing.append(problem(f"/analyses/{analysis.id}/subjects", "in neither", got=code))
        for f in analysis.files:
            where = f"/analyses/{analysis.id}/files"
            _need_file(crate, plan, f.sha256, paths.get(f.sha256), f.sha256 in stored, where, missing)
        plan.new_analyses.append((analysis, paths))


def _plan_entries(session: Session, crate: Crate, records: Records, plan: _Plan, missing: list) -> None:
    for entry, paths in records.entries:
        match = [
            here.id
            for here in queries.entries_titled(session, entry.title)
            if _same_time(here.created_at, entry.created_at)
        ]
        if match:
            plan.entries[entry.id] = match[0] or 0
            continue
        for a in entry.attachments:
            path = paths.get(a.sha256)
            _need_file(crate, plan, a.sha256, path, False, f"/entries/{entry.id}/attachments", missing)
        plan.new_entries.append((entry, paths))


# --- writing ---------------------------------------------------------------------------------------------


def _stage(crate: Crate, plan: _Plan, arriving: Intake) -> dict[str, Stored]:
    """Every file the import needs, read from the archive, checked against its SHA-256 and staged."""
    staged: dict[str, Stored] = {}
    for sha256, path in sorted(plan.files.items()):
        info = crate.member(path)
        assert info is not None  # planned only when the archive holds it
        stored = arriving.put(io.BytesIO(crate.read(info)), crate.limit, "/file")
        if stored.sha256 != sha256:
            raise Invalid(
                "an archive member is not the file its record names",
                [problem("/file", f"{path} with SHA-256 {sha256}", got=stored.sha256)],
            )
        staged[sha256] = stored
    return staged


def _imported(archive: str, kind: str, source_id: Any, by: str, at: datetime | None) -> dict[str, Any]:
    return {
        "archive_sha256": archive,
        "source": f"{kind}:{source_id}",
        "original_author": by,
        "original_created_at": at.isoformat() if at else None,
    }


def _write_items(
    session: Session, user: User, archive: str, plan: _Plan, made: list[ItemOut], step_id: int | None
) -> None:
    assert user.id is not None
    for item in made:
        row = Item(
            code=item.code,
            kind=item.kind.value,
            type_id=plan.types[item.type].id or 0,
            name=item.name,
            status=item.status.value,
            quantity_value=item.quantity.value if item.quantity else None,
            quantity_unit=item.quantity.unit if item.quantity else None,
            remaining_value=item.remaining.value if item.remaining else None,
            supplier=item.supplier,
            catalog_number=item.catalog_number,
            supplier_lot=item.supplier_lot,
            received_on=item.received_on,
            expires_on=item.expires_on,
            properties=item.properties,
            produced_by_step_id=step_id,
            created_at=item.created_at,
            created_by_id=user.id,
            updated_at=item.updated_at,
            void_reason=item.void_reason,
        )
        items.import_item(
            session, user, row, _imported(archive, "item", item.code, item.created_by, item.created_at)
        )
        plan.here[item.code] = row


def _write_step(session: Session, user: User, archive: str, plan: _Plan, step: StepOut, outputs: list) -> int:
    assert user.id is not None
    row = Step(
        protocol=step.protocol,
        status=step.status,
        operator_id=user.id,
        started_at=step.started_at,
        ended_at=step.ended_at,
        parameters=step.model_dump(mode="json")["parameters"],
        notes=step.notes,
        created_at=step.created_at,
        void_reason=step.void_reason,
        voided_at=utcnow() if step.status == "voided" else None,
        template_id=plan.templates.get(step.protocol),
        deviating=step.deviating,
        deviations=[d.model_dump(mode="json") for d in step.deviations],
        normalized={k: v.model_dump() for k, v in step.normalized.items()},
        computed={k: v.model_dump() for k, v in step.computed.items()},
    )
    insert_new(session, [row])
    assert row.id is not None
    plan.steps[step.id] = row.id
    for given in step.inputs:
        used = plan.here[given.item.code]
        consumed = None
        if given.amount is not None and used.quantity_unit is not None:
            consumed = units.convert(given.amount, used.quantity_unit)  # checked when planned
        insert_later(
            session,
            StepInput,
            {
                "step_id": row.id,
                "item_id": used.id,
                "role": given.role,
                "amount_value": given.amount.value if given.amount else None,
                "amount_unit": given.amount.unit if given.amount else None,
                "consumed_value": consumed,
            },
        )
    excused = {d.field: d.justification for d in step.deviations}
    for n, use in enumerate(step.instruments):
        # As it was when the step was logged there: the calibration state is the step's, not today's.
        session.add(
            StepInstrument(
                step_id=row.id,
                instrument_id=plan.instruments[use.instrument],
                role=use.role,
                used_at=step.started_at or step.ended_at or step.created_at,
                calibration_state=use.calibration_state,
                calibration_due_on=use.calibration_due_on,
                deviation=excused.get(f"/instruments/{n}"),
            )
        )
    _write_items(session, user, archive, plan, outputs, row.id)
    children = [plan.here[item.code].id or 0 for item in outputs]
    parents = [plan.here[given.item.code].id or 0 for given in step.inputs]
    for given in step.inputs:
        for child in children:
            insert_later(
                session,
                ItemLink,
                {
                    "parent_id": plan.here[given.item.code].id,
                    "child_id": child,
                    "step_id": row.id,
                    "role": given.role,
                    "active": step.status != "voided",
                },
            )
    if step.status != "voided":
        extend_ancestry(session, {child: list(dict.fromkeys(parents)) for child in children})
    note_event(
        session,
        "step.imported",
        "step",
        row.id,
        data={
            **step.model_dump(mode="json", exclude={"id", "operator", "signatures"}),
            "imported": _imported(archive, "step", step.id, step.operator, step.created_at),
        },
    )
    return row.id


def _file_row(
    session: Session, user: User, staged: dict[str, Stored], sha256: str, name: str, media: str
) -> Any:
    here = queries.stored_files(session, [sha256]).get(sha256)
    if here is not None:
        return here
    return files.record(session, user, staged[sha256], name, media)


_CYCLE_FIELDS = {
    "cycle": int,
    "hw_cycle": int,
    "start_s": float,
    "duration_s": float,
    "charge_mAh": float,
    "discharge_mAh": float,
    "charge_mWh": float,
    "discharge_mWh": float,
    "mean_charge_V": float,
    "mean_discharge_V": float,
    "ce_pct": float,
    "max_abs_voltage_V": float,
}


def _cycles(crate: Crate, path: str, run_id: int) -> list[dict[str, Any]]:
    """The per-cycle rows of cycles.csv as the test_cycles table keeps them (the derived mAh/g columns and
    the formation flag are computed on reading, so they are not stored)."""
    info = crate.member(path)
    assert info is not None
    try:
        rows = list(csv.DictReader(io.StringIO(crate.read(info).decode("utf-8"))))
        cycles = []
        for row in rows:
            value: dict[str, Any] = {
                name: (cast(row[name]) if row.get(name) not in (None, "") else None)
                for name, cast in _CYCLE_FIELDS.items()
            }
            flag = row.get("flag") or None
            value["flag"] = None if flag and flag.startswith("formation (") else flag
            value["complete"] = row.get("complete", "True") == "True"
            value["test_run_id"] = run_id
            cycles.append(value)
    except (UnicodeDecodeError, KeyError, ValueError, TypeError) as exc:
        raise Invalid(
            "the per-cycle data of a test run cannot be read",
            [
                problem(
                    "/file",
                    f"{path} as written by cellprov ({', '.join(CycleOut.model_fields)})",
                    got=str(exc),
                )
            ],
        ) from None
    return cycles


def _write_tests(
    session: Session, user: User, crate: Crate, archive: str, plan: _Plan, staged: dict[str, Stored]
) -> None:
    assert user.id is not None
    for run, paths in plan.new_tests:
        stored = _file_row(session, user, staged, run.file.sha256, run.file.name, run.file.media_type)
        row = TestRun(
            item_id=plan.here[run.cell].id or 0,
            protocol=run.protocol,
            kind=run.kind,
            status=run.status,
            void_reason=run.void_reason,
            file_id=stored.id,
            file_format=run.format,
            parser=run.parser,
            parser_version=run.parser_version,
            active_mass_g=run.active_mass_g,
            leading=run.leading,
            record_count=run.record_count,
            cycle_count=run.cycle_count,
            duration_s=run.duration_h * 3600,
            metrics=[m.model_dump(mode="json") for m in run.metrics],
            options=run.options,
            notes=run.notes,
            warnings=[w.model_dump(mode="json") for w in run.warnings],
            created_at=run.created_at,
            created_by_id=user.id,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        plan.tests[run.id] = row.id
        cycles = _cycles(crate, paths["cycles"] or "", row.id)
        if cycles:
            session.execute(insert(TestCycle), cycles)
        imported = _imported(archive, "test_run", run.id, run.created_by, run.created_at)
        if run.channel:
            imported["channel_not_imported"] = run.channel
        note_event(
            session,
            "test_run.imported",
            "test_run",
            row.id,
            data={
                "cell": run.cell,
                "protocol": run.protocol,
                "file": run.file.sha256,
                "cycles": len(cycles),
                "metrics": row.metrics,
                "imported": imported,
            },
        )


def _write_analyses(
    session: Session, user: User, archive: str, plan: _Plan, staged: dict[str, Stored]
) -> None:
    assert user.id is not None
    for analysis, _ in plan.new_analyses:
        row = Analysis(
            technique=analysis.technique,
            performed_at=analysis.performed_at,
            instrument=analysis.instrument,
            title=analysis.title,
            results=[r.model_dump(mode="json") for r in analysis.results],
            notes=analysis.notes,
            calculator=analysis.calculator,
            inputs=analysis.inputs,
            status=analysis.status,
            void_reason=analysis.void_reason,
            created_at=analysis.created_at,
            created_by_id=user.id,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        plan.analyses[analysis.id] = row.id
        for code in analysis.subjects:
            session.add(AnalysisSubject(analysis_id=row.id, item_id=plan.here[code].id or 0))
        for f in analysis.files:
            stored = _file_row(session, user, staged, f.sha256, f.name, f.media_type)
            session.add(AnalysisFile(analysis_id=row.id, file_id=stored.id, label=f.label))
        session.flush()
        note_event(
            session,
            "analysis.imported",
            "analysis",
            row.id,
            data={
                **analysis.model_dump(mode="json", exclude={"id", "created_by"}),
                "imported": _imported(
                    archive, "analysis", analysis.id, analysis.created_by, analysis.created_at
                ),
            },
        )


def _link_here(plan: _Plan, link: str) -> str | None:
    kind, _, key = link.partition(":")
    if kind == "item":
        return link if key in plan.here else None
    mapped = {"step": plan.steps, "test_run": plan.tests, "analysis": plan.analyses, "entry": plan.entries}
    table = mapped.get(kind)
    if table is None or not key.isdigit() or int(key) not in table:
        return None
    return f"{kind}:{table[int(key)]}"


def _write_entries(session: Session, user: User, archive: str, plan: _Plan) -> list[str]:
    assert user.id is not None
    dropped = []
    for entry, _ in plan.new_entries:
        row = Entry(
            title=entry.title,
            body=entry.body,
            entry_date=entry.date,
            status=entry.status,
            version=1,
            author_id=user.id,
            created_at=entry.created_at,
            updated_at=entry.updated_at,
            void_reason=entry.void_reason,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        plan.entries[entry.id] = row.id
        links = []
        for link in entry.links:
            here = _link_here(plan, link)
            if here is None:
                dropped.append(f"entry {entry.id}: {link}")
            else:
                links.append(here)
        for link in dict.fromkeys(links):
            record_type, _, record_id = link.partition(":")
            session.add(EntryLink(entry_id=row.id, record_type=record_type, record_id=record_id))
        for tag in dict.fromkeys(entry.tags):
            session.add(EntryTag(entry_id=row.id, tag=tag))
        for a in entry.attachments:
            session.add(
                EntryAttachment(
                    entry_id=row.id, sha256=a.sha256, name=a.name, media_type=a.media_type, size=a.size
                )
            )
        session.flush()
        state = entry_out(session, row).model_dump(mode="json", exclude={"signatures"})
        session.add(
            EntryVersion(
                entry_id=row.id,
                version=1,
                action="imported",
                at=utcnow(),
                by_id=user.id,
                reason=None,
                state=state,
            )
        )
        note_event(
            session,
            "entry.imported",
            "entry",
            row.id,
            version=1,
            data={**state, "imported": _imported(archive, "entry", entry.id, entry.author, entry.created_at)},
        )
    return dropped


# --- the answer ------------------------------------------------------------------------------------------


def _report(records: Records, plan: _Plan, written: bool) -> tuple[list[ElnEntity], dict, dict]:
    entities: list[ElnEntity] = []
    created: dict[str, int] = {
        "items": 0,
        "steps": 0,
        "test_runs": 0,
        "analyses": 0,
        "entries": 0,
        "files": 0,
    }
    existing: dict[str, int] = dict.fromkeys(created, 0)
    new_codes = {item.code for item in plan.new_items}
    for item in records.items:
        new = item.code in new_codes
        entities.append(
            ElnEntity(
                id=f"items/{item.code}/",
                type="Dataset",
                became="item" if new else "existing",
                record=f"item:{item.code}",
                reason="" if new else "the same item is here; left as it is",
            )
        )
        (created if new else existing)["items"] += 1
    analysed = [a.id for a, _ in records.analyses]
    groups: list[tuple[str, str, str, list[int], dict[int, int], str]] = [
        ("steps", "step", "CreateAction", [s.id for s in records.steps], plan.steps, "#step-{}"),
        ("test_runs", "test_run", "Dataset", [r.id for r, _ in records.tests], plan.tests, "tests/{}/"),
        ("analyses", "analysis", "Dataset", analysed, plan.analyses, "analyses/{}/"),
        ("entries", "entry", "Dataset", [e.id for e, _ in records.entries], plan.entries, "entries/{}/"),
    ]
    fresh = {
        "steps": {s.id for s in plan.new_steps},
        "test_runs": {r.id for r, _ in plan.new_tests},
        "analyses": {a.id for a, _ in plan.new_analyses},
        "entries": {e.id for e, _ in plan.new_entries},
    }
    for key, kind, node_type, ids, mapped, pattern in groups:
        for source in ids:
            new = source in fresh[key]
            here = mapped.get(source)
            entities.append(
                ElnEntity(
                    id=pattern.format(source),
                    type=node_type,
                    became=kind if new else "existing",
                    record=f"{kind}:{here}" if here is not None and (written or not new) else None,
                    reason="" if new else f"the same {kind.replace('_', ' ')} is here; left as it is",
                )
            )
            (created if new else existing)[key] += 1
    for sha256, path in sorted(plan.files.items()):
        entities.append(ElnEntity(id=path, type="File", became="file", record=f"file:{sha256}"))
        created["files"] += 1
    return entities, created, existing


def import_records(
    session: Session, user: User, crate: Crate, records: Records, arriving: Intake, *, dry_run: bool
) -> ElnImportOut:
    """Recreate the archive's records here (or, on a dry run, say what would be created); see the module."""
    plan = _plan(session, crate, records)
    nothing_new = not (
        plan.new_items or plan.new_steps or plan.new_tests or plan.new_analyses or plan.new_entries
    )
    dropped: list[str] = []
    if not dry_run and not nothing_new:
        staged = _stage(crate, plan, arriving)
        archive = crate.sha256
        producing = {s.id for s in plan.new_steps}
        _write_items(
            session,
            user,
            archive,
            plan,
            [item for item in plan.new_items if item.produced_by not in producing],
            None,
        )
        for step in plan.new_steps:
            outputs = [item for item in plan.new_items if item.produced_by == step.id]
            _write_step(session, user, archive, plan, step, outputs)
        _write_tests(session, user, crate, archive, plan, staged)
        _write_analyses(session, user, archive, plan, staged)
        dropped = _write_entries(session, user, archive, plan)
    entities, created, existing = _report(records, plan, written=not dry_run)
    if dropped:
        entities.append(
            ElnEntity(
                id=RECORDS_FILE,
                type="File",
                became="skipped",
                reason="entry links to records outside the archive: " + "; ".join(dropped)[:2000],
            )
        )
    if not dry_run and not nothing_new:
        note_event(
            session,
            "eln.imported",
            "import",
            crate.sha256,
            data={
                "path": "records",
                "exported_from": records.exported_from,
                "created": created,
                "existing": existing,
                "imported_by": user.username,
            },
        )
    return ElnImportOut(
        archive_sha256=crate.sha256,
        dry_run=dry_run,
        already_imported=nothing_new,
        path="records",
        entries=created["entries"],
        attachments=created["files"],
        created=created,
        existing=existing,
        entities=entities,
    )
