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
