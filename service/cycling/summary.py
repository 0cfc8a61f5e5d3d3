"""Per-step and per-cycle summaries of a test's records.

cellprov numbers cycles itself, from step type and current sign: a cycle starts with each step in the test's
leading direction (the direction of its first non-rest step: charge for a cathode half cell, plating for
Li||Cu)
that follows a step in the other direction. The cycler's own cycle index is kept beside it, because cyclers
disagree on when a cycle starts (Neware counts from its schedule, BTSDA's default mode from the first charge).
"""

from dataclasses import dataclass, replace
from typing import Literal

import polars as pl

Kind = Literal["charge", "discharge", "rest"]
CycleBy = Literal["auto", "hardware"]
# A step whose current never reaches this share of the test's largest current is a rest.
REST_SHARE = 1e-3
# So is a step (without a type in the file) that passes at most this share of the largest step's capacity:
# one record at 0.66 µA between an Arbin rest and its first discharge (2e-9 of a step) is not a charge that
# starts a cycle. Calling such a step a rest moves no capacity by more than 1e-7 of it; a real short step
# (a 1C pulse of 10 s: ≈3e-3, a one-record tail of an Arbin step: ≈7e-7) keeps its kind.
PASSED_SHARE = 1e-7
# The last cycle of a file counts as cut short (the test stopped mid-cycle) when it returns less than this
# share of the cycle before it: no cell loses half its capacity in one cycle and then stops being tested.
TRUNCATED_SHARE = 0.5


@dataclass(frozen=True)
class Segment:
    """One step of the test (a run of records with one step id)."""

    step: int
    kind: Kind
    hw_cycle: int | None
    start_s: float
    end_s: float
    capacity_mAh: float
    energy_mWh: float
    mean_voltage_V: float | None
    max_abs_voltage_V: float


@dataclass(frozen=True)
class Cycle:
    cycle: int
    hw_cycle: int | None
    start_s: float
    duration_s: float
    charge_mAh: float
    discharge_mAh: float
    charge_mWh: float
    discharge_mWh: float
    mean_charge_V: float | None
    mean_discharge_V: float | None
    ce_pct: float | None
    """Coulombic efficiency: what came back over what went in (the leading direction's capacity), in %."""
    max_abs_voltage_V: float
    complete: bool = True
    """Both halves recorded and not cut short; only complete cycles enter metrics."""
    flag: str | None = None
    """Why a cycle is not complete (`incomplete: …`, `truncated: …`), shown beside it."""


@dataclass(frozen=True)
class Summary:
    leading: Kind | None
    """The direction each cycle starts with; None for a test that only rests."""
    segments: list[Segment]
    cycles: list[Cycle]
    duration_s: float
    record_count: int


def _previous_in_step(frame: pl.DataFrame, value: pl.Expr) -> pl.Expr:
    """The value at the step's previous record, null at a step's first record.

    Steps numbered in time order (every reader's do, except where a file repeats a step id later) each sit
    in one run of records, so the previous record of the file is the step's own unless a step starts there:
    a shift over the whole column, ten times faster on a long test than a shift within each step's group.
    """
    step = frame.get_column("step")
    if step.null_count() == 0 and step.is_sorted():
        return pl.when(pl.col("step") == pl.col("step").shift(1)).then(value.shift(1))
    return value.shift(1).over("step")


def segments_of(frame: pl.DataFrame) -> list[Segment]:
    """Each step's kind, capacity, energy and mean voltage.

    Capacity and energy come from the file's own counters where it has them (what the vendor's software
    shows); otherwise they are integrated from current and voltage over time (trapezoid rule).
    """
    power = pl.col("voltage_V") * pl.col("current_mA").abs()
    dt = (pl.col("time_s") - _previous_in_step(frame, pl.col("time_s"))).fill_null(0.0)
    mean_i = ((pl.col("current_mA") + _previous_in_step(frame, pl.col("current_mA"))) / 2).fill_null(0.0)
    mean_vi = ((power + _previous_in_step(frame, power)) / 2).fill_null(0.0)
    steps = (
        frame.with_columns((dt * mean_i / 3600).alias("_q"), (dt * mean_vi / 3600).alias("_e"))
        .group_by("step", maintain_order=True)
        .agg(
            pl.col("step_kind").drop_nulls().first().alias("kind"),
            pl.col("hw_cycle").drop_nulls().first().alias("hw_cycle"),
            pl.col("time_s").first().alias("start_s"),
            pl.col("time_s").last().alias("end_s"),
            pl.col("capacity_mAh").max().alias("capacity"),
            pl.col("energy_mWh").max().alias("energy"),
            pl.col("_q").sum().alias("net_q"),
            pl.col("_q").abs().sum().alias("abs_q"),
            pl.col("_e").sum().alias("abs_e"),
            pl.col("current_mA").mean().alias("mean_current"),
            pl.col("current_mA").abs().max().alias("max_current"),
            pl.col("voltage_V").mean().alias("mean_voltage"),
            pl.col("voltage_V").abs().max().alias("max_abs_voltage"),
        )
    )
    largest = float(frame.get_column("current_mA").abs().max() or 0.0)  # type: ignore[arg-type]
    passed = pl.when(pl.col("capacity").is_not_null()).then(pl.col("capacity")).otherwise(pl.col("abs_q"))
    most = float(steps.select(passed.max()).item() or 0.0)
    segments = []
    for row in steps.iter_rows(named=True):
        kind = row["kind"]
        if kind is None:
            moved = row["capacity"] if row["capacity"] is not None else row["abs_q"]
            if largest == 0 or row["max_current"] <= REST_SHARE * largest or moved <= PASSED_SHARE * most:
                kind = "rest"
            else:
                direction = row["net_q"] if row["net_q"] != 0 else row["mean_current"]
                kind = "charge" if direction > 0 else "discharge"
        capacity = row["capacity"] if row["capacity"] is not None else row["abs_q"]
        energy = row["energy"] if row["energy"] is not None else row["abs_e"]
        if kind == "rest":
            capacity = energy = 0.0
        if capacity > 0 and energy > 0:
            mean_voltage = energy / capacity
        elif kind == "rest":
            mean_voltage = row["mean_voltage"]
        else:
            mean_voltage = None
        segments.append(
            Segment(
                step=row["step"],
                kind=kind,
                hw_cycle=row["hw_cycle"],
                start_s=row["start_s"],
                end_s=row["end_s"],
                capacity_mAh=float(capacity),
                energy_mWh=float(energy),
                mean_voltage_V=mean_voltage,
                max_abs_voltage_V=row["max_abs_voltage"],
            )
        )
    return segments


def _opposite(kind: Kind) -> Kind:
    return "discharge" if kind == "charge" else "charge"


def number_cycles(
    segments: list[Segment], cycle_by: CycleBy = "auto", leading: Kind | None = None
) -> tuple[Kind | None, list[int]]:
    """The leading direction (given by the test's CE convention, else the first non-rest step's) and a cycle
    number per segment."""
    if not any(s.kind != "rest" for s in segments):
        leading = None
    elif leading is None:
        leading = next(s.kind for s in segments if s.kind != "rest")
    if cycle_by == "hardware" and all(s.hw_cycle is not None for s in segments):
        return leading, [int(s.hw_cycle) for s in segments]  # type: ignore[arg-type]
    numbers, cycle, returned = [], 1, False
    for segment in segments:
        if leading is not None and segment.kind == leading and returned:
            cycle += 1
            returned = False
        elif leading is not None and segment.kind == _opposite(leading):
            returned = True
        numbers.append(cycle)
    return leading, numbers


def _mean_voltage(parts: list[Segment]) -> float | None:
    capacity = sum(p.capacity_mAh for p in parts)
    energy = sum(p.energy_mWh for p in parts)
    return energy / capacity if capacity > 0 and energy > 0 else None


def _flagged(cycles: list[Cycle], leading: Kind) -> list[Cycle]:
    """Cycles missing a half are incomplete; a last cycle that returns far less than the one before was cut
    short. Neither counts as a cycle of the test (never the "last" cycle of a retention)."""
    returned = _opposite(leading)
    flagged = []
    for cycle in cycles:
        went_in = cycle.charge_mAh if leading == "charge" else cycle.discharge_mAh
        came_back = cycle.discharge_mAh if leading == "charge" else cycle.charge_mAh
        if went_in <= 0 or came_back <= 0:
            missing = leading if went_in <= 0 else returned
            flagged.append(replace(cycle, complete=False, flag=f"incomplete: no {missing}"))
        else:
            flagged.append(cycle)
    whole = [c for c in flagged if c.complete]
    if len(whole) >= 2 and whole[-1] is flagged[-1]:
        last, before = whole[-1], whole[-2]
        back = (lambda c: c.discharge_mAh) if leading == "charge" else (lambda c: c.charge_mAh)
        if back(last) < TRUNCATED_SHARE * back(before):
            flagged[-1] = replace(
                last,
                complete=False,
                flag=f"truncated: returned {back(last):.4g} mAh against {back(before):.4g} the cycle before",
            )
    return flagged


def summarise(frame: pl.DataFrame, cycle_by: CycleBy = "auto", leading: Kind | None = None) -> Summary:
    """Per-step and per-cycle summaries; `leading` fixes the direction a cycle starts with (charge for a
    cathode-limited cell, plating for Li||Cu) instead of taking the file's first step."""
    segments = segments_of(frame)
    leading, numbers = number_cycles(segments, cycle_by, leading)
    cycles: list[Cycle] = []
    segments_by_cycle: dict[int, list[Segment]] = {}
    for segment, number in zip(segments, numbers, strict=True):
        segments_by_cycle.setdefault(number, []).append(segment)
    # A test that only rests (an open-circuit record) has records but no cycles.
    for cycle in sorted(segments_by_cycle) if leading is not None else []:
        parts = segments_by_cycle[cycle]
        charges = [p for p in parts if p.kind == "charge"]
        discharges = [p for p in parts if p.kind == "discharge"]
        charge = sum(p.capacity_mAh for p in charges)
        discharge = sum(p.capacity_mAh for p in discharges)
        ce = None
        if leading is not None:
            went_in, came_back = (charge, discharge) if leading == "charge" else (discharge, charge)
            if went_in > 0 and came_back > 0:
                ce = 100 * came_back / went_in
        active = [p for p in parts if p.kind != "rest"] or parts
        start = min(p.start_s for p in parts)
        cycles.append(
            Cycle(
                cycle=cycle,
                hw_cycle=next((p.hw_cycle for p in active if p.hw_cycle is not None), None),
                start_s=start,
                duration_s=max(p.end_s for p in parts) - start,
                charge_mAh=charge,
                discharge_mAh=discharge,
                charge_mWh=sum(p.energy_mWh for p in charges),
                discharge_mWh=sum(p.energy_mWh for p in discharges),
                mean_charge_V=_mean_voltage(charges),
                mean_discharge_V=_mean_voltage(discharges),
                ce_pct=ce,
                max_abs_voltage_V=max(p.max_abs_voltage_V for p in parts),
            )
        )
    if leading is not None:
        cycles = _flagged(cycles, leading)
    times = frame.get_column("time_s").cast(pl.Float64)
    return Summary(
        leading=leading,
        segments=segments,
        cycles=cycles,
        duration_s=float(times.max() or 0.0) - float(times.min() or 0.0),  # type: ignore[arg-type]
        record_count=frame.height,
    )
