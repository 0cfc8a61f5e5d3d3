"""Plausibility checks of a test run: numbers no cell of this material could give, and files that contradict
themselves. Each finding is a warning or an error; a run with an error is left out of comparisons."""

import re
from dataclasses import dataclass
from typing import Literal

import polars as pl

from service.cycling.summary import Summary

Level = Literal["warning", "error"]

# Theoretical (LCO, graphite, Li) or practical-upper (LFP 170, NCM811 ≈ 200) specific capacity, mAh/g. A test
# protocol extends or overrides it with a constant `theoretical_capacity` (mAh/g).
THEORETICAL_mAh_g: dict[str, float] = {
    "LFP": 170.0,
    "NCM811": 200.0,
    "LCO": 274.0,
    "graphite": 372.0,
    "Li": 3860.0,
}
# Measured capacity may exceed the registry value by this share (weighing, rounding) before it is an error.
CAPACITY_MARGIN = 1.05
# CE above this after formation in a cycle: a warning; on average: an error (more comes back than went in).
CE_CYCLE_LIMIT_PCT = 100.5
CE_AVERAGE_LIMIT_PCT = 102.0
# A current below this share of the test's largest is noise, not a sign that contradicts the step type.
SIGN_SHARE = 0.01


@dataclass(frozen=True)
class Material:
    name: str
    theoretical_mAh_g: float
    source: str
    """Where cellprov found it: the cell's lineage, the protocol's name or its constant."""


@dataclass(frozen=True)
class Finding:
    level: Level
    check: str
    message: str


def material_named(text: str) -> str | None:
    """The registry material a type or protocol name speaks of (whole words: `LFP cathode sheet`,
    `ncm811-li-cycling`); cathode materials before graphite before Li metal."""
    for name in THEORETICAL_mAh_g:
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", text, re.IGNORECASE):
            return name
    return None


def check_run(
    summary: Summary,
    frame: pl.DataFrame,
    mass_g: float | None,
    material: Material | None,
    formation_cycles: int,
) -> list[Finding]:
    findings: list[Finding] = []
    complete = [c for c in summary.cycles if c.complete and c.ce_pct is not None]
    returned = "discharge" if summary.leading == "charge" else "charge"
    if summary.cycles and not complete:
        findings.append(Finding("error", "no_complete_cycle", "no cycle has both halves; nothing to judge"))
    empty = [c.cycle for c in summary.cycles if c.charge_mAh <= 0 and c.discharge_mAh <= 0]
    if empty:
        findings.append(
            Finding("warning", "zero_capacity", f"{len(empty)} cycle(s) pass no charge at all: {empty[:10]}")
        )
    if mass_g and material and complete:
        best = max(getattr(c, f"{returned}_mAh") for c in complete) / mass_g
        if best > CAPACITY_MARGIN * material.theoretical_mAh_g:
            findings.append(
                Finding(
                    "error",
                    "capacity_above_theoretical",
                    f"{best:,.0f} mAh/g measured, {material.name} gives at most "
                    f"{material.theoretical_mAh_g:g} mAh/g ({material.source}); "
                    "wrong cell, file or active mass?",
                )
            )
    after = [c for c in complete if c.cycle > formation_cycles]
    high = [c for c in after if c.ce_pct is not None and c.ce_pct > CE_CYCLE_LIMIT_PCT]
    if after and high:
        average = sum(c.ce_pct for c in after if c.ce_pct is not None) / len(after)
        worst = max(high, key=lambda c: c.ce_pct or 0)
        findings.append(
            Finding(
                "error" if average > CE_AVERAGE_LIMIT_PCT else "warning",
                "ce_above_100",
                f"CE above 100 % after formation in {len(high)} of {len(after)} cycles "
                f"(cycle {worst.cycle}: {worst.ce_pct:.1f} %, mean {average:.1f} %)",
            )
        )
    times = frame.get_column("time_s").cast(pl.Float64)
    backwards = int((times.diff() < 0).sum() or 0)
    if backwards:
        findings.append(Finding("warning", "time_backwards", f"time goes backwards at {backwards} record(s)"))
    if "step_kind" in frame.columns:
        largest = float(frame.get_column("current_mA").abs().max() or 0.0)  # type: ignore[arg-type]
        noise = SIGN_SHARE * largest
        wrong = frame.filter(
            ((pl.col("step_kind") == "charge") & (pl.col("current_mA") < -noise))
            | ((pl.col("step_kind") == "discharge") & (pl.col("current_mA") > noise))
        ).height
        if wrong:
            findings.append(
                Finding(
                    "warning",
                    "current_sign",
                    f"{wrong} record(s) carry a current whose sign contradicts their step type",
                )
            )
    return findings
