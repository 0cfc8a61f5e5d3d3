"""Metrics of a test run, computed from its cycles: capacity retention and fade, coulombic efficiency, life.

Which metrics apply depends on the kind of test: a cycling test of a cathode (or full cell), a Li||Cu
coulombic-efficiency test, or a Li||Li symmetric test (hours until the overpotential passes a limit).
"""

from dataclasses import dataclass
from typing import Literal

import polars as pl

from service.cycling.summary import Cycle, Summary

TestKind = Literal["cycling", "li_cu", "symmetric"]


CeConvention = Literal["discharge/charge", "charge/discharge"]
CE_BY_KIND: dict[str, CeConvention] = {
    # A cathode-limited cell (LFP||Li, NCM811||Li, anode-free NCM811||Cu) is charged first: CE = discharge ÷
    # charge. Li||Cu plates Li on Cu first (a discharge of the cell), then strips it: CE = stripping ÷ plating
    # = charge ÷ discharge, cellpy's "anode" convention.
    "cycling": "discharge/charge",
    "li_cu": "charge/discharge",
    "symmetric": "discharge/charge",
}


@dataclass(frozen=True)
class MetricOptions:
    reference_cycle: int | None = None
    """Default: the first complete cycle after the formation cycles."""
    retention_cycle: int | None = None
    """Default: the last complete cycle (an incomplete or truncated last cycle is never it)."""
    ce_from: int | None = None
    ce_to: int | None = None
    retention_limit_pct: float = 80.0
    overpotential_limit_V: float = 0.2
    formation_cycles: int = 0
    """Cycles at the start that form the SEI: left out of averages, and the reference comes after them."""
    ce_convention: CeConvention = "discharge/charge"
    formation_from: str = "none declared"
    """Where formation_cycles came from (the upload, the protocol, none declared), said with the metric."""


@dataclass(frozen=True)
class Metric:
    name: str
    value: float | None
    unit: str
    note: str = ""
    convention: str = ""
    """How the value was computed, in words a reviewer can check."""


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


def leading_of(convention: CeConvention) -> Literal["charge", "discharge"]:
    """The direction a cycle starts with: the CE's denominator."""
    return "charge" if convention == "discharge/charge" else "discharge"


def returned_capacity(cycle: Cycle, leading: str | None) -> float:
    """The capacity a cycle gives back: discharge for a test that starts charging, charge otherwise."""
    return cycle.discharge_mAh if leading == "charge" else cycle.charge_mAh


def _complete(summary: Summary) -> list[Cycle]:
    return [c for c in summary.cycles if c.complete and c.ce_pct is not None]


def _after_formation(cycles: list[Cycle], options: MetricOptions) -> list[Cycle]:
    return [c for c in cycles if c.cycle > options.formation_cycles]


def _ce_words(options: MetricOptions) -> str:
    words = {
        "discharge/charge": "discharge ÷ charge",
        "charge/discharge": "stripping ÷ plating (charge ÷ discharge)",
    }
    return f"CE = {words[options.ce_convention]} of each complete cycle"


def _average_ce(cycles: list[Cycle], options: MetricOptions) -> Metric:
    counted = _after_formation(cycles, options)
    first = options.ce_from or (counted[0].cycle if counted else options.formation_cycles + 1)
    last = options.ce_to or (counted[-1].cycle if counted else first)
    values = [c.ce_pct for c in cycles if first <= c.cycle <= last and c.ce_pct is not None]
    return Metric(
        "average_ce",
        sum(values) / len(values) if values else None,
        "%",
        f"cycles {first}-{last}, {len(values)} complete cycles",
        f"{_ce_words(options)}; mean over complete cycles {first}-{last}, after "
        f"{options.formation_cycles} formation cycle(s); incomplete and truncated cycles left out",
    )


def _formation(options: MetricOptions) -> Metric:
    return Metric(
        "formation_cycles",
        float(options.formation_cycles),
        "cycles",
        options.formation_from,
        "cycles at the start left out of averages; the reference cycle comes after them",
    )


def _fade_fit(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of retention against cycle, as a loss per cycle (positive when fading)."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    return -sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx


def _cycling(summary: Summary, options: MetricOptions, mass_g: float | None) -> list[Metric]:
    cycles = _complete(summary)
    by_number = {c.cycle: c for c in cycles}
    after = _after_formation(cycles, options)
    reference_number = options.reference_cycle or (after[0].cycle if after else None)
    reference = by_number.get(reference_number) if reference_number is not None else None
    chosen = (
        "as asked"
        if options.reference_cycle
        else f"first complete cycle after {options.formation_cycles} formation cycle(s)"
    )
    reference_words = f"reference: cycle {reference_number} ({chosen})"
    initial = returned_capacity(reference, summary.leading) if reference else None
    returned = "discharge" if summary.leading == "charge" else "charge"
    metrics = [
        Metric(
            "initial_capacity",
            initial,
            "mAh",
            f"cycle {reference_number}",
            f"{returned} capacity; {reference_words}",
        )
    ]
    if mass_g and initial is not None:
        metrics.append(
            Metric(
                "initial_specific_capacity",
                initial / mass_g,
                "mAh/g",
                "per gram active",
                f"{returned} capacity ÷ active mass {mass_g * 1000:.4g} mg; {reference_words}",
            )
        )
    target = options.retention_cycle or (cycles[-1].cycle if cycles else None)
    at = by_number.get(target) if target is not None else None
    retention = None
    if initial and at is not None:
        retention = 100 * returned_capacity(at, summary.leading) / initial
    target_words = (
        "as asked"
        if options.retention_cycle
        else "last complete cycle; incomplete and truncated cycles are never last"
    )
    metrics.append(
        Metric(
            "capacity_retention",
            retention,
            "%",
            f"cycle {target} against {reference_number}",
            f"{returned} capacity of cycle {target} ({target_words}) ÷ that of the {reference_words}",
        )
    )
    fade = None
    window = f"cycles {reference_number}-{target}"
    if initial and target is not None and reference_number is not None and target > reference_number:
        points = [
            (c.cycle, 100 * returned_capacity(c, summary.leading) / initial)
            for c in cycles
            if reference_number <= c.cycle <= target
        ]
        fade = _fade_fit(points)
    metrics.append(
        Metric(
            "fade_per_cycle",
            fade,
            "%/cycle",
            f"linear fit, {window}",
            f"minus the least-squares slope of retention (% of the reference) against cycle number over the "
            f"complete cycles of {window}",
        )
    )
    metrics.append(_average_ce(cycles, options))
    below = None
    if initial and reference_number is not None:
        below = next(
            (
                c.cycle
                for c in cycles
                if c.cycle > reference_number
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
            f"first complete cycle after the reference whose {returned} capacity is below "
            f"{options.retention_limit_pct:g} % of the {reference_words}",
        )
    )
    metrics.append(_formation(options))
    metrics.append(
        Metric(
            "cycle_count",
            float(len(summary.cycles)),
            "cycles",
            f"{len(cycles)} complete",
            "every cycle of the file, complete or not",
        )
    )
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
            _formation(options),
            Metric(
                "first_cycle_ce",
                first,
                "%",
                f"cycle {cycles[0].cycle}" if cycles else "",
                f"{_ce_words(options)}; the first complete cycle, formation or not",
            ),
            Metric("cycle_count", float(len(summary.cycles)), "cycles"),
        ]
    return _cycling(summary, options, mass_g)
