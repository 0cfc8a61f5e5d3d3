"""Metrics of a test run, computed from its cycles: capacity retention and fade, coulombic efficiency, life.

Which metrics apply depends on the kind of test: a cycling test of a cathode (or full cell), a Li||Cu
coulombic-efficiency test, or a Li||Li symmetric test (hours until the overpotential passes a limit).
"""

from dataclasses import dataclass
from typing import Literal

import polars as pl

from service.cycling.summary import Cycle, Summary

TestKind = Literal["cycling", "li_cu", "symmetric"]


@dataclass(frozen=True)
class MetricOptions:
    reference_cycle: int = 1
    retention_cycle: int | None = None
    """Default: the last complete cycle."""
    ce_from: int | None = None
    ce_to: int | None = None
    retention_limit_pct: float = 80.0
    overpotential_limit_V: float = 0.2


@dataclass(frozen=True)
class Metric:
    name: str
    value: float | None
    unit: str
    note: str = ""


def kind_of_test(protocol: str, given: str | None = None) -> TestKind:
    """The kind of test from the option given, else from the protocol's name (li-li-symmetric@1,
    li-cu-ce@1)."""
    if given in ("cycling", "li_cu", "symmetric"):
        return given  # type: ignore[return-value]
    name = protocol.lower()
    if "symmetric" in name or "li-li" in name:
        return "symmetric"
    if "li-cu" in name or name.split("@")[0].endswith("-ce"):
        return "li_cu"
    return "cycling"


def returned_capacity(cycle: Cycle, leading: str | None) -> float:
    """The capacity a cycle gives back: discharge for a test that starts charging, charge otherwise."""
    return cycle.discharge_mAh if leading == "charge" else cycle.charge_mAh


def _complete(summary: Summary) -> list[Cycle]:
    return [c for c in summary.cycles if c.ce_pct is not None]


def _average_ce(cycles: list[Cycle], options: MetricOptions) -> Metric:
    first = options.ce_from or (cycles[0].cycle if cycles else 1)
    last = options.ce_to or (cycles[-1].cycle if cycles else 1)
    values = [c.ce_pct for c in cycles if first <= c.cycle <= last and c.ce_pct is not None]
    return Metric(
        "average_ce",
        sum(values) / len(values) if values else None,
        "%",
        f"cycles {first}-{last}, {len(values)} complete cycles",
    )


def _cycling(summary: Summary, options: MetricOptions, mass_g: float | None) -> list[Metric]:
    cycles = _complete(summary)
    by_number = {c.cycle: c for c in cycles}
    reference = by_number.get(options.reference_cycle)
    initial = returned_capacity(reference, summary.leading) if reference else None
    metrics = [Metric("initial_capacity", initial, "mAh", f"cycle {options.reference_cycle}")]
    if mass_g and initial is not None:
        metrics.append(Metric("initial_specific_capacity", initial / mass_g, "mAh/g", "per gram active"))
    target = options.retention_cycle or (cycles[-1].cycle if cycles else None)
    at = by_number.get(target) if target is not None else None
    retention = None
    if initial and at is not None:
        retention = 100 * returned_capacity(at, summary.leading) / initial
    metrics.append(
        Metric("capacity_retention", retention, "%", f"cycle {target} against {options.reference_cycle}")
    )
    fade = None
    if retention is not None and target is not None and target > options.reference_cycle:
        fade = (100 - retention) / (target - options.reference_cycle)
    metrics.append(Metric("fade_per_cycle", fade, "%/cycle", "linear, between the two cycles"))
    metrics.append(_average_ce(cycles, options))
    below = None
    if initial:
        below = next(
            (
                c.cycle
                for c in cycles
                if c.cycle > options.reference_cycle
                and returned_capacity(c, summary.leading) < options.retention_limit_pct / 100 * initial
            ),
            None,
        )
    metrics.append(
        Metric(
            "cycles_to_80pct" if options.retention_limit_pct == 80 else "cycles_to_retention_limit",
            None if below is None else float(below),
            "cycles",
            f"first cycle below {options.retention_limit_pct:g} % (null: not reached)",
        )
    )
    metrics.append(Metric("cycle_count", float(len(summary.cycles)), "cycles"))
    return metrics


def _symmetric(summary: Summary, frame: pl.DataFrame, options: MetricOptions) -> list[Metric]:
    start = float(frame.get_column("time_s").min())  # type: ignore[arg-type]
    passed = frame.filter(
        (pl.col("voltage_V").abs() > options.overpotential_limit_V) & (pl.col("current_mA") != 0)
    )
    hours = None if passed.height == 0 else (float(passed.get_column("time_s")[0]) - start) / 3600
    first = summary.cycles[0].max_abs_voltage_V if summary.cycles else None
    return [
        Metric(
            "hours_to_overpotential_limit",
            hours,
            "h",
            f"|V| above {options.overpotential_limit_V:g} V"
            f" (null: not reached in {summary.duration_s / 3600:.1f} h)",
        ),
        Metric(
            "first_cycle_overpotential",
            None if first is None else first * 1000,
            "mV",
            "largest |V| in cycle 1",
        ),
        Metric("test_hours", summary.duration_s / 3600, "h"),
        Metric("cycle_count", float(len(summary.cycles)), "cycles"),
    ]


def compute_metrics(
    summary: Summary, frame: pl.DataFrame, kind: TestKind, options: MetricOptions, mass_g: float | None = None
) -> list[Metric]:
    if kind == "symmetric":
        return _symmetric(summary, frame, options)
    if kind == "li_cu":
        cycles = _complete(summary)
        first = cycles[0].ce_pct if cycles else None
        return [
            _average_ce(cycles, options),
            Metric("first_cycle_ce", first, "%"),
            Metric("cycle_count", float(len(summary.cycles)), "cycles"),
        ]
    return _cycling(summary, options, mass_g)
