"""Small, deterministic cycler files made from simple models, in Neware's BTSDA CSV layout.

The worked example has to run from a fresh clone, without the shared fixtures, so it makes its own data: a
capacity-fade model of an LFP||Li coin cell, a Li||Cu plating/stripping test and a Li||Li symmetric test.
"""

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

HEADER = [
    "DataPoint",
    "Cycle Index",
    "Step Index",
    "Step Type",
    "Time",
    "Total Time",
    "Current(mA)",
    "Voltage(V)",
    "Capacity(mAh)",
    "Energy(mWh)",
    "Date",
]
START = datetime(2025, 3, 3, 9, 0, 0)


def _clock(seconds: float) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours):02d}:{int(minutes):02d}:{secs:06.3f}"


@dataclass
class _Writer:
    rows: list[list[str]]
    total_s: float = 0.0
    point: int = 0

    def step(
        self,
        cycle: int,
        index: int,
        step_type: str,
        current_mA: float,
        duration_s: float,
        voltage_at: Callable[[float], float],
        points: int,
    ) -> None:
        capacity = energy = 0.0
        last_v = voltage_at(0.0)
        for k in range(points + 1):
            fraction = k / points
            t = fraction * duration_s
            v = voltage_at(fraction)
            if k:
                dq = abs(current_mA) * (duration_s / points) / 3600
                capacity += dq
                energy += dq * (v + last_v) / 2
            last_v = v
            self.point += 1
            self.rows.append(
                [
                    str(self.point),
                    str(cycle),
                    str(index),
                    step_type,
                    _clock(t),
                    _clock(self.total_s + t),
                    f"{current_mA:.4f}",
                    f"{v:.4f}",
                    f"{capacity:.6f}",
                    f"{energy:.6f}",
                    (START + timedelta(seconds=self.total_s + t)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
                ]
            )
        self.total_s += duration_s + 1.0

    def text(self) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows(self.rows)
        return out.getvalue().encode("utf-8")


def lfp_cycling(
    cycles: int = 60,
    active_mass_mg: float = 12.49,
    specific_capacity: float = 160.0,
    fade_per_cycle_pct: float = 0.05,
    coulombic_efficiency_pct: float = 99.8,
    c_rate: float = 1.0,
    points: int = 8,
) -> bytes:
    """LFP||Li at `c_rate` (1C = 170 mA/g): CC charge to the plateau's end, CC discharge, linear fade."""
    current = c_rate * 170 * active_mass_mg / 1000
    writer = _Writer([])
    for n in range(1, cycles + 1):
        discharge_mAh = specific_capacity * active_mass_mg / 1000 * (1 - fade_per_cycle_pct / 100 * (n - 1))
        charge_mAh = discharge_mAh / (coulombic_efficiency_pct / 100)
        writer.step(
            n,
            1,
            "CC_Chg",
            current,
            charge_mAh / current * 3600,
            lambda f: 3.38 + 0.1 * f**6 + 0.04 * f,
            points,
        )
        writer.step(
            n,
            2,
            "CC_DChg",
            -current,
            discharge_mAh / current * 3600,
            lambda f: 3.42 - 0.08 * f - 0.6 * f**12,
            points,
        )
    return writer.text()


def li_cu_plating(cycles: int = 40, area_cm2: float = 1.13, ce_pct: float = 98.85, points: int = 4) -> bytes:
    """Li||Cu at 1 mA cm⁻², 1 mAh cm⁻²: plate (negative current) then strip; stripping returns `ce_pct`."""
    current = 1.0 * area_cm2
    plated = 1.0 * area_cm2
    writer = _Writer([])
    for n in range(1, cycles + 1):
        stripped = plated * (ce_pct / 100 - 0.002 * math.sin(n))
        writer.step(n, 1, "CC_DChg", -current, plated / current * 3600, lambda f: -0.02 - 0.005 * f, points)
        writer.step(n, 2, "CC_Chg", current, stripped / current * 3600, lambda f: 0.02 + 0.5 * f**20, points)
    return writer.text()


def li_li_symmetric(hours: float = 400, overpotential_mV: float = 20, growth_mV_per_h: float = 0.1) -> bytes:
    """Li||Li at 1 mA cm⁻², 1 h per half cycle; the overpotential grows linearly with time."""
    writer = _Writer([])
    for n in range(1, int(hours / 2) + 1):
        for index, sign in ((1, 1.0), (2, -1.0)):
            base = (overpotential_mV + growth_mV_per_h * writer.total_s / 3600) / 1000

            def voltage(f: float, b: float = base, s: float = sign) -> float:
                return s * b * (1 + 0.1 * f)

            writer.step(
                n,
                index,
                "CC_Chg" if sign > 0 else "CC_DChg",
                sign * 1.13,
                3600,
                voltage,
                2,
            )
    return writer.text()


@dataclass(frozen=True)
class Ageing:
    """How an LFP||Li cell ages at 1C: capacity lost as a square-root term (SEI growth, early) plus a linear
    term, and, for an anode that fails, an accelerating loss from `knee_cycle` until the cell dies at
    `fails_at` (mid-discharge: its last cycle is cut short)."""

    sqrt_loss_pct: float
    linear_loss_pct: float
    coulombic_efficiency_pct: float
    knee_cycle: int | None = None
    fails_at: int | None = None

    def retention(self, n: int) -> float:
        """Capacity at 1C cycle n (1 = the first after formation) as a fraction of the first."""
        k = n - 1
        lost = self.sqrt_loss_pct * math.sqrt(k) + self.linear_loss_pct * k
        if self.knee_cycle is not None and n > self.knee_cycle:
            lost += 0.0015 * (n - self.knee_cycle) ** 2
        return max(0.05, 1 - lost / 100)


# Fitted by eye to the study (Energy Environ. Sci. 2025, 18, 4690): MOF@CoPc/Li keeps > 90 % after 350 cycles
# at 1C; MOF/Li sits in between; bare Li fades faster, its CE wanders, and it fails within 200 cycles.
STUDY_AGEING = {
    "MOF@CoPc/Li": Ageing(sqrt_loss_pct=0.12, linear_loss_pct=0.012, coulombic_efficiency_pct=99.85),
    "MOF/Li": Ageing(sqrt_loss_pct=0.35, linear_loss_pct=0.045, coulombic_efficiency_pct=99.6),
    "bare Li": Ageing(
        sqrt_loss_pct=0.6, linear_loss_pct=0.08, coulombic_efficiency_pct=99.2, knee_cycle=110, fails_at=180
    ),
}


def lfp_study_cycling(
    ageing: Ageing,
    cycles: int = 350,
    active_mass_mg: float = 12.49,
    specific_capacity_1c: float = 149.8,
    formation_cycles: int = 2,
    points: int = 4,
    formation_points: int = 40,
) -> bytes:
    """LFP||Li as the study cycles it: `formation_cycles` at 0.1C (the first loses ~12 % of its charge to the
    SEI), then 1C (170 mA/g) until `cycles` or the cell fails. Few records per 1C half cycle keep a 350-cycle
    file small; the formation cycles get enough records to show the LFP plateau in dQ/dV."""
    one_c = 170 * active_mass_mg / 1000
    writer = _Writer([])
    formation_capacity = 160.0 * active_mass_mg / 1000
    for n in range(1, formation_cycles + 1):
        ce = 0.88 if n == 1 else 0.985
        discharge_mAh = formation_capacity * (1 if n == 1 else 0.995)
        _lfp_cycle(writer, n, 0.1 * one_c, discharge_mAh / ce, discharge_mAh, 0.0, formation_points)
    last = ageing.fails_at if ageing.fails_at is not None else cycles
    for m in range(1, min(cycles, last) + 1):
        n = formation_cycles + m
        discharge_mAh = specific_capacity_1c * active_mass_mg / 1000 * ageing.retention(m)
        ce = ageing.coulombic_efficiency_pct / 100
        if ageing.knee_cycle is not None and m > ageing.knee_cycle:
            ce -= 0.0002 * (m - ageing.knee_cycle) * (1 + math.sin(m))  # dendrites: CE wanders down
        if m == ageing.fails_at:
            discharge_mAh *= 0.3  # a soft short: the discharge collapses and the test is stopped
        polarisation = 0.03 * (1 - ageing.retention(m))  # the plateaus drift apart as the cell ages
        _lfp_cycle(writer, n, one_c, discharge_mAh / ce, discharge_mAh, 0.05 + polarisation, points)
    return writer.text()


def _lfp_cycle(
    writer: _Writer,
    cycle: int,
    current_mA: float,
    charge_mAh: float,
    discharge_mAh: float,
    overpotential_V: float,
    points: int,
) -> None:
    """One CC charge and CC discharge of LFP, its flat two-phase plateau at 3.43 V, the ends steep."""

    def charging(f: float) -> float:
        return 3.43 + overpotential_V + 0.04 * f - 0.15 * (1 - f) ** 30 + 0.7 * f**40

    def discharging(f: float) -> float:
        return 3.43 - overpotential_V - 0.04 * f + 0.15 * (1 - f) ** 30 - 0.9 * f**40

    writer.step(cycle, 1, "CC_Chg", current_mA, charge_mAh / current_mA * 3600, charging, points)
    writer.step(cycle, 2, "CC_DChg", -current_mA, discharge_mAh / current_mA * 3600, discharging, points)
