"""Recording test runs: read the cycler file, summarise it per cycle, compute metrics, store it all at
once."""

import csv
import io
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, insert, text
from sqlmodel import Session, col, select

from labrules.units import UnitProblem, convert
from schemas import Deviation, Quantity
from schemas.cycling import (
    CompareGroup,
    CompareRow,
    Comparison,
    CycleOut,
    DifferentialCapacity,
    DifferentialCurve,
    DifferentialVoltage,
    Metric,
    Plausibility,
    TestFile,
    TestOptions,
    TestRunOut,
    VoltageProfile,
    VoltageProfiles,
    VoltageSlopeCurve,
)
from schemas.templates import TemplateKind
from service.auth.tables import User
from service.cycling import cohorts as lineage_cohorts
from service.cycling import metrics as metric_rules
from service.cycling import plausibility
from service.cycling.detect import read_cycler_file
from service.cycling.differential import (
    differential_capacity,
    differential_voltage,
    dvdq_method,
    voltage_profiles,
)
from service.cycling.differential import method as differential_method
from service.cycling.plots import BandKind, PlotFormat, Series, group_band, plot_cycles
from service.cycling.queries import cathode_inputs
from service.cycling.readers import ReadOptions, Records, UnreadableFile
from service.cycling.summary import Cycle, Summary, summarise
from service.cycling.tables import TestCycle, TestRun
from service.db import utcnow
from service.errors import Conflict, Invalid, NotFound, problem
from service.files.tables import StoredFile
from service.instruments import uses as instrument_uses
from service.items.logic import get_item
from service.items.tables import Item
from service.lineage.queries import reachable_items
from service.templates.logic import definition_of, usable_template
from service.templates.tables import Template
from service.work import note_event

MASS_PROPERTIES = ("active_mass", "active_material_mass")


def parse_options(text: str | None) -> TestOptions:
    try:
        return TestOptions.model_validate_json(text or "{}")
    except ValidationError as exc:
        raise Invalid(
            f"{exc.error_count()} problem(s) in the options",
            [
                problem(
                    "/options/" + "/".join(str(p) for p in e["loc"]), e["msg"], got=str(e.get("input"))[:200]
                )
                for e in exc.errors()
            ],
        ) from None


def _grams(quantity: Any, pointer: str) -> float:
    try:
        value = convert(Quantity.model_validate(quantity), "g")
    except (ValidationError, UnitProblem, Exception) as exc:  # pint's DimensionalityError is not exported
        raise Invalid(
            "the active mass is not a mass",
            [
                problem(
                    pointer, str(exc).splitlines()[0][:200], expected="a mass such as 12.5 mg", got=quantity
                )
            ],
        ) from None
    if value <= 0:
        raise Invalid("the active mass must be positive", [problem(pointer, "must be > 0", got=quantity)])
    return value


def active_mass_g(cell: Item, options: TestOptions) -> float | None:
    if options.active_mass is not None:
        return _grams(options.active_mass.model_dump(), "/options/active_mass")
    for name in MASS_PROPERTIES:
        if name in cell.properties:
            return _grams(cell.properties[name], f"item:{cell.code}/properties/{name}")
    return None


def ce_convention(protocol: str, options: TestOptions) -> metric_rules.CeConvention:
    """The CE definition of this test: as asked, else by the kind of cell (see metrics.CE_BY_KIND)."""
    return options.ce_convention or metric_rules.CE_BY_KIND[metric_rules.kind_of_test(protocol, options.kind)]


def mass_from_lineage(session: Session, cell: Item) -> tuple[float | None, str | None]:
    """Active mass from the lineage when the upload and the cell give none: the cathode sheet's
    `areal_loading` × the area of it the assembly took. Returns grams and a note saying so."""
    assert cell.id is not None
    for sheet, value, unit in cathode_inputs(session, cell.id):
        loading = sheet.properties.get("areal_loading")
        if loading is None or value is None or unit is None:
            continue
        try:
            per_area = convert(Quantity.model_validate(loading), "mg/cm**2")
            area = convert(Quantity(value=value, unit=unit), "cm**2")
        except Exception:  # not an area (a disc counted in pieces) or a loading in other units: no answer
            continue
        if per_area > 0 and area > 0:
            mass_mg = per_area * area
            return mass_mg / 1000, (
                f"active mass {mass_mg:.4g} mg from the lineage: {sheet.code} areal_loading "
                f"{per_area:g} mg/cm² × {area:g} cm² taken by the assembly"
            )
    return None, None


def read_and_summarise(path: Path, options: TestOptions, protocol: str = "") -> tuple[Records, Summary]:
    """Everything that can fail on the file's content, done before anything is written."""
    try:
        records = read_cycler_file(
            path, ReadOptions(columns=options.columns, units=options.units), options.format
        )
        leading = metric_rules.leading_of(ce_convention(protocol, options))
        summary = summarise(records.frame, options.cycle_by, leading)
    except UnreadableFile:
        raise
    except Exception as exc:  # a reader meeting a file it was not written for must still answer with a 4xx
        raise UnreadableFile(
            options.format or "cycler file", f"reading failed ({type(exc).__name__}: {str(exc)[:300]})"
        ) from None
    return records, summary


def record_test(
    session: Session,
    user: User,
    code: str,
    protocol: str,
    options: TestOptions,
    stored: StoredFile,
    records: Records,
    summary: Summary,
) -> TestRun:
    """The test run and its cycles, added to the session together (the caller commits once)."""
    cell = get_item(session, code)
    if cell.status == "voided":
        raise Invalid(
            f"{code} is voided", [problem("path:code", "a voided item gets no new test runs", got=code)]
        )
    template = _check_protocol(session, protocol)
    mass = active_mass_g(cell, options)
    mass_note = None
    if mass is None:
        mass, mass_note = mass_from_lineage(session, cell)
    kind = metric_rules.kind_of_test(protocol, options.kind)
    formation, formation_from = formation_cycles(template, options)
    computed = metric_rules.compute_metrics(
        summary,
        records.frame,
        kind,
        metric_rules.MetricOptions(
            reference_cycle=options.reference_cycle,
            retention_cycle=options.retention_cycle,
            ce_from=options.ce_from,
            ce_to=options.ce_to,
            retention_limit_pct=options.retention_limit_pct,
            overpotential_limit_V=options.overpotential_limit_V,
            formation_cycles=formation,
            formation_from=formation_from,
            ce_convention=ce_convention(protocol, options),
        ),
        mass,
    )
    findings = plausibility.check_run(
        summary, records.frame, mass, material_of(session, cell, template), formation
    )
    assert cell.id is not None and stored.id is not None and user.id is not None
    binding = instrument_uses.bind_run(session, cell.id, options.channel, options.started_at or utcnow())
    deviation = instrument_uses.judge_run(
        binding,
        f"{template.name}@{template.version}",
        definition_of(template).requires_calibrated_equipment,
        options.deviations,
    )
    if binding is not None and binding.warning:
        findings.append(plausibility.Finding("warning", "calibration", binding.warning))
    run = TestRun(
        item_id=cell.id,
        protocol=protocol,
        kind=kind,
        file_id=stored.id,
        file_format=records.file_format,
        parser=records.parser,
        parser_version=records.parser_version,
        active_mass_g=mass,
        leading=summary.leading,
        record_count=summary.record_count,
        cycle_count=len(summary.cycles),
        duration_s=summary.duration_s,
        metrics=[
            {"name": m.name, "value": m.value, "unit": m.unit, "note": m.note, "convention": m.convention}
            for m in computed
        ],
        options=options.model_dump(mode="json", exclude_defaults=True),
        notes=records.notes + ([mass_note] if mass_note else []),
        warnings=[{"level": f.level, "check": f.check, "message": f.message} for f in findings],
        created_at=utcnow(),
        created_by_id=user.id,
    )
    session.add(run)
    session.flush()
    assert run.id is not None
    _insert_cycles(session, run.id, summary.cycles)
    if binding is not None:
        instrument_uses.record_use(session, binding, run.id, cell.id, deviation)
    note_event(
        session,
        "test_run.recorded",
        "test_run",
        run.id,
        data={
            "cell": code,
            "protocol": protocol,
            "file": stored.sha256,
            "format": records.file_format,
            "parser": f"{records.parser} {records.parser_version}",
            "cycles": len(summary.cycles),
            "metrics": run.metrics,
            "warnings": run.warnings,
            "channel": binding.channel.code if binding else None,
        },
    )
    return run


def _insert_cycles(session: Session, run_id: int, cycles: list[Cycle]) -> None:
    """The run's cycles in one multi-row INSERT, not one ORM object each: a long test has thousands."""
    if not cycles:  # an empty parameter list would insert one row of defaults
        return
    session.execute(
        insert(TestCycle),
        [
            {
                "test_run_id": run_id,
                "cycle": c.cycle,
                "hw_cycle": c.hw_cycle,
                "start_s": c.start_s,
                "duration_s": c.duration_s,
                "charge_mAh": c.charge_mAh,
                "discharge_mAh": c.discharge_mAh,
                "charge_mWh": c.charge_mWh,
                "discharge_mWh": c.discharge_mWh,
                "mean_charge_V": c.mean_charge_V,
                "mean_discharge_V": c.mean_discharge_V,
                "ce_pct": c.ce_pct,
                "max_abs_voltage_V": c.max_abs_voltage_V,
                "complete": c.complete,
                "flag": c.flag,
            }
            for c in cycles
        ],
    )


def material_of(session: Session, cell: Item, template: Template) -> plausibility.Material | None:
    """The active material whose capacity bounds the cell's: the protocol's constant `theoretical_capacity`
    if it has one, else the nearest registry material in the cell's lineage other than Li metal (the
    cathode, or graphite), else the one the protocol's name speaks of, else Li metal if the lineage has it."""
    ref = f"{template.name}@{template.version}"
    declared = template.definition.get("constants", {}).get("theoretical_capacity")
    if isinstance(declared, dict):
        try:
            value = convert(Quantity.model_validate(declared), "mA*h/g")
        except Exception:  # a constant in another dimension is the protocol author's mistake, not the run's
            value = None
        if value:
            return plausibility.Material(template.name, value, f"constant of the protocol {ref}")
    assert cell.id is not None
    upstream = reachable_items(session, cell.id, "up", None)
    found = [(row, plausibility.material_named(row.type)) for row in upstream]
    for row, name in found:
        if name is not None and name != "Li":
            return plausibility.Material(
                name, plausibility.THEORETICAL_mAh_g[name], f"{row.code} ({row.type}) in the cell's lineage"
            )
    named = plausibility.material_named(template.name)
    if named is not None and named != "Li":
        return plausibility.Material(named, plausibility.THEORETICAL_mAh_g[named], f"the protocol {ref}")
    for row, name in found:
        if name == "Li":
            return plausibility.Material(
                name, plausibility.THEORETICAL_mAh_g[name], f"{row.code} ({row.type}) in the cell's lineage"
            )
    return None


def formation_cycles(template: Template, options: TestOptions) -> tuple[int, str]:
    """As asked in the upload, else the test protocol's constant `formation_cycles`, else none; and where
    the number came from."""
    if options.formation_cycles is not None:
        return options.formation_cycles, "as asked in the upload"
    declared = template.definition.get("constants", {}).get("formation_cycles")
    if isinstance(declared, dict) and isinstance(declared.get("value"), int | float):
        return max(0, int(declared["value"])), f"from the protocol {template.name}@{template.version}"
    return 0, f"none declared by the protocol {template.name}@{template.version}"


def _check_protocol(session: Session, protocol: str) -> Template:
    """A test run names a published test protocol of the template store (e.g. lfp-li-cycling@1)."""
    template, problems = usable_template(session, protocol, for_step=False)
    if template is not None and not problems and template.kind != TemplateKind.test:
        problems = [
            problem(
                "/protocol",
                f"{protocol} is a process template, not a test protocol",
                expected="a test template, e.g. lfp-li-cycling@1",
                got=protocol,
            )
        ]
    if problems or template is None:
        raise Invalid(f"{protocol} cannot be used for a test run", problems)
    return template


def get_test(session: Session, test_id: int, lock: bool = False) -> TestRun:
    run = session.get(TestRun, test_id, with_for_update=lock)
    if run is None:
        raise NotFound(f"no test run {test_id}")
    return run


def void_test(session: Session, user: User, test_id: int, reason: str) -> TestRun:
    """A test run recorded by mistake (wrong cell, wrong protocol, a broken file) is voided, never deleted: it
    stays readable with its reason and leaves comparisons and lineage answers."""
    run = get_test(session, test_id, lock=True)
    if run.status == "voided":
        raise Conflict(
            f"test run {test_id} is already voided", [problem("/reason", f"voided before: {run.void_reason}")]
        )
    run.status, run.void_reason = "voided", reason
    session.add(run)
    cell = session.get(Item, run.item_id)
    note_event(
        session,
        "test_run.voided",
        "test_run",
        test_id,
        data={"cell": cell.code if cell else None, "protocol": run.protocol},
        changes={"status": {"from": "recorded", "to": "voided"}},
        reason=reason,
    )
    return run


def run_out(session: Session, run: TestRun) -> TestRunOut:
    cell = session.get(Item, run.item_id)
    stored = session.get(StoredFile, run.file_id)
    author = session.get(User, run.created_by_id)
    assert cell is not None and stored is not None and run.id is not None
    ran_on = instrument_uses.instrument_of_run(session, run.id)
    return TestRunOut(
        id=run.id,
        cell=cell.code,
        protocol=run.protocol,
        kind=run.kind,
        status=run.status,
        void_reason=run.void_reason,
        file=TestFile(
            sha256=stored.sha256,
            name=stored.name,
            size=stored.size,
            media_type=stored.media_type,
            url=f"/files/{stored.sha256}",
        ),
        format=run.file_format,
        parser=run.parser,
        parser_version=run.parser_version,
        active_mass_g=run.active_mass_g,
        leading=run.leading,
        record_count=run.record_count,
        cycle_count=run.cycle_count,
        duration_h=run.duration_s / 3600,
        metrics=[Metric.model_validate(m) for m in run.metrics],
        options=run.options,
        notes=run.notes,
        warnings=[Plausibility.model_validate(w) for w in run.warnings],
        instrument=ran_on.instrument if ran_on else None,
        channel=ran_on.channel if ran_on else None,
        calibration_state=ran_on.calibration_state if ran_on else None,
        deviations=[
            Deviation(
                field=d["field"],
                justification=d["justification"],
                expected="in_calibration",
                got=ran_on.calibration_state if ran_on else "no channel",
            )
            for d in run.options.get("deviations", [])
        ],
        created_at=run.created_at,
        created_by=author.username if author else "?",
    )


def tests_of_item(session: Session, code: str) -> list[TestRun]:
    item = get_item(session, code)
    return list(
        session.exec(select(TestRun).where(TestRun.item_id == item.id).order_by(col(TestRun.id))).all()
    )


def cycles_of(session: Session, run: TestRun) -> list[CycleOut]:
    rows = session.exec(
        select(TestCycle).where(TestCycle.test_run_id == run.id).order_by(col(TestCycle.cycle))
    ).all()
    mass = run.active_mass_g
    formed = _formation_of(run)
    formation = f"formation (the first {formed} cycle(s); left out of averages)"
    return [
        CycleOut(
            cycle=r.cycle,
            hw_cycle=r.hw_cycle,
            start_s=r.start_s,
            duration_s=r.duration_s,
            charge_mAh=r.charge_mAh,
            discharge_mAh=r.discharge_mAh,
            charge_mAh_g=r.charge_mAh / mass if mass else None,
            discharge_mAh_g=r.discharge_mAh / mass if mass else None,
            ce_pct=r.ce_pct,
            charge_mWh=r.charge_mWh,
            discharge_mWh=r.discharge_mWh,
            mean_charge_V=r.mean_charge_V,
            mean_discharge_V=r.mean_discharge_V,
            max_abs_voltage_V=r.max_abs_voltage_V,
            complete=r.complete,
            flag=r.flag or (formation if r.cycle <= formed else None),
        )
        for r in rows
    ]


def chosen_cycles(session: Session, run: TestRun, text: str | None) -> list[int]:
    """Cycles named as `1,50,100`; by default the first and the last complete cycle."""
    complete = [c.cycle for c in cycles_of(session, run) if c.complete]
    if not text:
        return sorted({complete[0], complete[-1]}) if complete else []
    wanted: list[int] = []
    for part in text.split(","):
        if not part.strip().isdigit():
            raise Invalid(
                "cycles must be whole numbers", [problem("query:cycles", "e.g. 1,50,100", got=text[:200])]
            )
        wanted.append(int(part))
    known = {c.cycle for c in cycles_of(session, run)}
    missing = [n for n in wanted if n not in known]
    if missing:
        raise Invalid(
            f"test run {run.id} has no cycle {missing[0]}",
            [problem("query:cycles", f"cycles 1-{max(known, default=0)}", got=missing)],
        )
    return list(dict.fromkeys(wanted))


def showcase_cycles(session: Session, run: TestRun) -> list[int]:
    """A few cycles that tell a run's story: the first complete one after formation, the middle one, the last
    complete one (fewer when the run is short)."""
    formed = _formation_of(run)
    complete = [c.cycle for c in cycles_of(session, run) if c.complete]
    after = [c for c in complete if c > formed] or complete
    if not after:
        return []
    return sorted({after[0], after[len(after) // 2], after[-1]})


def differential(
    session: Session, store_path: Path, run: TestRun, cycles: list[int], resolution_V: float, smoothing: int
) -> DifferentialCapacity:
    """dQ/dV of the chosen cycles, from the run's stored file read again as it was read at upload."""
    options = TestOptions.model_validate(run.options)
    records, summary = read_and_summarise(store_path, options, run.protocol)
    curves = differential_capacity(records.frame, summary, options.cycle_by, cycles, resolution_V, smoothing)
    assert run.id is not None
    return DifferentialCapacity(
        test=run.id,
        method=differential_method(resolution_V, smoothing),
        resolution_V=resolution_V,
        smoothing_points=smoothing,
        curves=[DifferentialCurve(**vars(c)) for c in curves],
    )


def profiles(session: Session, store_path: Path, run: TestRun, cycles: list[int]) -> VoltageProfiles:
    """Voltage against capacity of the chosen cycles, from the run's stored file read again."""
    options = TestOptions.model_validate(run.options)
    records, summary = read_and_summarise(store_path, options, run.protocol)
    mass = run.active_mass_g
    assert run.id is not None
    return VoltageProfiles(
        test=run.id,
        method="capacity integrated from current (trapezoids) since each half cycle began; at most 500 "
        "records per half, evenly thinned",
        profiles=[
            VoltageProfile(
                cycle=p.cycle,
                direction=p.direction,
                capacity_mAh=p.capacity_mAh,
                capacity_mAh_g=[q / mass for q in p.capacity_mAh] if mass else None,
                voltage_V=p.voltage_V,
            )
            for p in voltage_profiles(records.frame, summary, options.cycle_by, cycles)
        ],
    )


def _sheet(method: str, header: list[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV sheet of curves, headed by the method they were computed by."""
    out = io.StringIO()
    out.write(f"# {method}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _per_gram(capacity_mAh: list[float], capacity_mAh_g: list[float] | None) -> list[float | str]:
    return list(capacity_mAh_g) if capacity_mAh_g is not None else [""] * len(capacity_mAh)


def profiles_csv(answer: VoltageProfiles) -> str:
    return _sheet(
        answer.method,
        ["cycle", "direction", "capacity_mAh", "capacity_mAh_g", "voltage_V"],
        (
            [p.cycle, p.direction, q, q_g, v]
            for p in answer.profiles
            for q, q_g, v in zip(
                p.capacity_mAh, _per_gram(p.capacity_mAh, p.capacity_mAh_g), p.voltage_V, strict=True
            )
        ),
    )


def differential_csv(answer: DifferentialCapacity) -> str:
    return _sheet(
        answer.method,
        ["cycle", "direction", "voltage_V", "dqdv_mAh_per_V"],
        (
            [c.cycle, c.direction, volts, slope]
            for c in answer.curves
            for volts, slope in zip(c.voltage_V, c.dqdv_mAh_per_V, strict=True)
        ),
    )


def voltage_slopes(
    session: Session, store_path: Path, run: TestRun, cycles: list[int], points: int, smoothing: int
) -> DifferentialVoltage:
    """dV/dQ of the chosen cycles against the capacity passed, from the run's stored file read again."""
    options = TestOptions.model_validate(run.options)
    records, summary = read_and_summarise(store_path, options, run.protocol)
    slopes = differential_voltage(records.frame, summary, options.cycle_by, cycles, points, smoothing)
    mass = run.active_mass_g
    assert run.id is not None
    return DifferentialVoltage(
        test=run.id,
        method=dvdq_method(points, smoothing),
        points=points,
        smoothing_points=smoothing,
        curves=[
            VoltageSlopeCurve(
                cycle=s.cycle,
                direction=s.direction,
                capacity_mAh=s.capacity_mAh,
                capacity_mAh_g=[q / mass for q in s.capacity_mAh] if mass else None,
                dvdq_V_per_mAh=s.dvdq_V_per_mAh,
            )
            for s in slopes
        ],
    )


def voltage_slopes_csv(answer: DifferentialVoltage) -> str:
    return _sheet(
        answer.method,
        ["cycle", "direction", "capacity_mAh", "capacity_mAh_g", "dvdq_V_per_mAh"],
        (
            [c.cycle, c.direction, q, q_g, slope]
            for c in answer.curves
            for q, q_g, slope in zip(
                c.capacity_mAh, _per_gram(c.capacity_mAh, c.capacity_mAh_g), c.dvdq_V_per_mAh, strict=True
            )
        ),
    )


def stored_file_of(session: Session, run: TestRun) -> StoredFile:
    stored = session.get(StoredFile, run.file_id)
    assert stored is not None
    return stored


def _formation_of(run: TestRun) -> int:
    """The formation cycles a run's metrics used, as stored with them."""
    stored = next((m.get("value") for m in run.metrics if m.get("name") == "formation_cycles"), None)
    return int(stored) if isinstance(stored, int | float) else 0


def metrics_csv(metrics: list[Metric]) -> str:
    """One row per metric with the convention it was computed by, for a reviewer's spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "value", "unit", "note", "convention"])
    for m in metrics:
        writer.writerow([m.name, "" if m.value is None else m.value, m.unit, m.note, m.convention])
    return out.getvalue()


def cycles_csv(cycles: list[CycleOut]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    fields = list(CycleOut.model_fields)
    writer.writerow(fields)
    for cycle in cycles:
        values = cycle.model_dump()
        writer.writerow(["" if values[f] is None else values[f] for f in fields])
    return out.getvalue()


def series_of(session: Session, run: TestRun, label: str) -> tuple[Series, str]:
    """The capacity-per-cycle series of a run (mAh/g when its active mass is known) and its unit."""
    cycles = cycles_of(session, run)
    returned = "discharge" if run.leading == "charge" else "charge"
    per_gram = run.active_mass_g is not None
    # Incomplete and truncated cycles are not drawn: a cut-short last cycle is no cliff of the cell's.
    cycles = [c for c in cycles if c.complete]
    capacity = [getattr(c, f"{returned}_mAh_g" if per_gram else f"{returned}_mAh") for c in cycles]
    return (
        Series(
            label=label,
            cycles=[c.cycle for c in cycles],
            capacity=capacity,
            ce_pct=[c.ce_pct for c in cycles],
        ),
        "mAh/g" if per_gram else "mAh",
    )


def figure_title(session: Session, run: TestRun) -> str:
    cell = session.get(Item, run.item_id)
    assert cell is not None
    return f"{cell.code} · {run.protocol} · test {run.id}"


def plot_test(session: Session, run: TestRun, fmt: PlotFormat, from_zero: bool = False) -> bytes:
    series, unit = series_of(session, run, "")
    return plot_cycles([series], unit, figure_title(session, run), fmt, from_zero)


def _group_keys(session: Session, cell_ids: list[int], by: str) -> dict[int, str]:
    """The group of each cell: `role:<role>` groups by the type of the cell's input in that role (the anode
    kind), `type:<item type>` by the code of the nearest upstream item of that type (the MOF@CoPc batch),
    `cell` by the cell itself."""
    if not cell_ids:
        return {}
    if by == "cell":
        rows = session.exec(select(Item.id, Item.code).where(col(Item.id).in_(cell_ids))).all()
        return {int(row[0]): row[1] for row in rows if row[0] is not None}
    how, _, what = by.partition(":")
    if how == "role" and what:
        query = text(
            """
            SELECT l.child_id, MIN(t.name) FROM item_links l
            JOIN items p ON p.id = l.parent_id JOIN item_types t ON t.id = p.type_id
            WHERE l.active AND l.role = :role AND l.child_id IN :ids
            GROUP BY l.child_id
            """
        ).bindparams(bindparam("ids", expanding=True))
        found = {row[0]: row[1] for row in session.execute(query, {"role": what, "ids": cell_ids}).all()}
        return {cell: found.get(cell, f"(no {what})") for cell in cell_ids}
    if how == "type" and what:
        groups = {}
        for cell in cell_ids:
            upstream = [
                r for r in reachable_items(session, cell, "up", None) if r.type == what and r.depth > 0
            ]
            nearest = min((r.depth for r in upstream), default=None)
            codes = sorted(r.code for r in upstream if r.depth == nearest)
            groups[cell] = "+".join(codes) if codes else f"(no {what})"
        return groups
    raise Invalid(
        "unknown grouping",
        [problem("query:by", "cell, role:<input role> or type:<item type>", expected="role:anode", got=by)],
    )


def has_error(run: TestRun) -> bool:
    return any(w.get("level") == "error" for w in run.warnings)


def compare(
    session: Session,
    by: str,
    protocol: str | None,
    cells: list[str],
    with_errors: bool = False,
    cohorts: list[str] | None = None,
) -> Comparison:
    """Recorded (not voided) runs grouped by what is upstream of their cells; runs whose plausibility checks
    found an error only when asked for. With `cohorts` (`NAME:descends_from=CODE`), grouped by cohort
    instead, with the upstream differences between the cohorts' ancestries."""
    parsed = lineage_cohorts.parse(cohorts or [])
    query = select(TestRun).where(TestRun.status == "recorded").order_by(col(TestRun.id))
    if protocol:
        query = query.where(TestRun.protocol == protocol)
    if cells:
        ids = [get_item(session, code).id for code in cells]
        query = query.where(col(TestRun.item_id).in_(ids))
    runs = [run for run in session.exec(query).all() if with_errors or not has_error(run)]
    cell_ids = sorted({r.item_id for r in runs})
    codes = (
        dict(session.exec(select(Item.id, Item.code).where(col(Item.id).in_(cell_ids))).all())
        if cell_ids
        else {}
    )
    grouped: dict[str, list[TestRun]] = {}
    found: list[lineage_cohorts.Found] = []
    if parsed:
        found = lineage_cohorts.find(session, parsed)
        for cohort in found:
            members = set(cohort.cell_ids)
            grouped[cohort.cohort.name] = [run for run in runs if run.item_id in members]
        by = "cohort"
    else:
        keys = _group_keys(session, cell_ids, by)
        for run in runs:
            grouped.setdefault(keys[run.item_id], []).append(run)
    order = [f.cohort.name for f in found] or sorted(grouped)
    groups = [_group(name, grouped[name], codes) for name in order]
    return Comparison(
        by=by,
        protocol=protocol,
        groups=groups,
        cohorts=[f.cohort for f in found],
        upstream_differences=lineage_cohorts.differences(session, found) if len(found) > 1 else None,
    )


def _group(name: str, runs: list[TestRun], codes: dict[int | None, str]) -> CompareGroup:
    """A group's runs with each metric's mean and sample standard deviation."""
    rows = []
    for run in runs:
        assert run.id is not None
        rows.append(
            CompareRow(
                test=run.id,
                cell=codes[run.item_id],
                protocol=run.protocol,
                metrics={m["name"]: m["value"] for m in run.metrics},
            )
        )
    mean: dict[str, float | None] = {}
    sd: dict[str, float | None] = {}
    for metric in sorted({metric for row in rows for metric in row.metrics}):
        values = [v for row in rows if (v := row.metrics.get(metric)) is not None]
        mean[metric] = statistics.fmean(values) if values else None
        sd[metric] = statistics.stdev(values) if len(values) > 1 else None
    return CompareGroup(group=name, n=len(rows), mean=mean, sd=sd, tests=rows)


def plot_comparison(
    session: Session,
    comparison: Comparison,
    fmt: PlotFormat,
    from_zero: bool = False,
    band: BandKind | None = None,
) -> bytes:
    """Each cell's curves; with `band`, each group's mean per cycle and a band (±1 σ or min–max) instead."""
    series: list[Series] = []
    unit = "mAh"
    for group in comparison.groups:
        members = []
        for row in group.tests:
            one, unit = series_of(session, get_test(session, row.test), f"{group.group} · {row.cell}")
            members.append(one)
        series += [group_band(group.group, members, band)] if band else members
    return plot_cycles(series, unit, f"comparison by {comparison.by}", fmt, from_zero)
