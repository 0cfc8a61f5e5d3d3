"""Differential capacity (dQ/dV) and voltage profiles of chosen cycles, from a test's raw records.

The method, stated with every answer (as cellpy's `ica` does it, without scipy): per half cycle, capacity is
integrated from current over time (trapezoids) across the half's steps; voltage is made monotonic (running
maximum on charge, minimum on discharge, so a CV tail or noise cannot fold the curve back); capacity is
interpolated linearly onto an even voltage grid; a centred moving average smooths it; dQ/dV is the central
difference on the grid (numpy.gradient). Charge peaks are positive, discharge peaks negative.

dV/dQ (as in dV/dQ analysis after Bloom et al., and BEEP's featurisation) takes capacity as the independent
variable instead: per half cycle, records where no charge passed are dropped, voltage is interpolated linearly
onto an even capacity grid of a stated number of points across the half, smoothed by the same centred moving
average, and differentiated by central differences. Plateaus are its minima, the steps between them its peaks;
discharge values are negative (the voltage falls as capacity passes).
"""

from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from service.cycling.summary import Kind, Summary, number_cycles

Direction = Literal["charge", "discharge"]
DEFAULT_RESOLUTION_V = 0.005
DEFAULT_SMOOTHING_POINTS = 5


@dataclass(frozen=True)
class Curve:
    cycle: int
    direction: Direction
    voltage_V: list[float]
    dqdv_mAh_per_V: list[float]


def method(resolution_V: float, smoothing: int) -> str:
    return (
        f"capacity integrated from current per half cycle, voltage made monotonic, capacity interpolated "
        f"linearly on a {resolution_V * 1000:g} mV grid, smoothed by a centred {smoothing}-point moving "
        f"average, dQ/dV by central differences; discharge values negative"
    )


def _half(times: np.ndarray, volts: np.ndarray, amps_mA: np.ndarray, direction: Direction) -> tuple:
    """The half's voltage and cumulative capacity (mAh), monotonic in voltage."""
    charge = _passed(times, amps_mA)
    rising = direction == "charge"
    envelope = np.maximum.accumulate(volts) if rising else np.minimum.accumulate(volts)
    moved = np.concatenate([[True], envelope[1:] != envelope[:-1]])
    volts, charge = envelope[moved], charge[moved]
    order = np.argsort(volts)
    return volts[order], charge[order]


def _dqdv(volts: np.ndarray, charge: np.ndarray, resolution_V: float, smoothing: int) -> tuple:
    if volts.size < 3 or volts[-1] - volts[0] < 2 * resolution_V:
        return np.array([]), np.array([])
    grid = np.arange(volts[0], volts[-1] + resolution_V / 2, resolution_V)
    on_grid = _smoothed(np.interp(grid, volts, charge), smoothing)
    return grid, np.gradient(on_grid, grid)


@dataclass(frozen=True)
class VoltageSlope:
    cycle: int
    direction: Direction
    capacity_mAh: list[float]
    dvdq_V_per_mAh: list[float]


DEFAULT_DVDQ_POINTS = 500


def dvdq_method(points: int, smoothing: int) -> str:
    return (
        f"capacity integrated from current per half cycle, voltage interpolated linearly on an even grid of "
        f"{points} capacity points across the half, smoothed by a centred {smoothing}-point moving average, "
        f"dV/dQ by central differences; discharge values negative"
    )


def _smoothed(values: np.ndarray, smoothing: int) -> np.ndarray:
    """A centred moving average over `smoothing` points, the ends padded with their own value."""
    if smoothing <= 1 or values.size <= smoothing:
        return values
    pad = smoothing // 2
    padded = np.pad(values, (pad, smoothing - 1 - pad), mode="edge")
    return np.convolve(padded, np.ones(smoothing) / smoothing, mode="valid")


@dataclass(frozen=True)
class Profile:
    cycle: int
    direction: Direction
    capacity_mAh: list[float]
    voltage_V: list[float]


def _halves(frame: pl.DataFrame, summary: Summary, cycle_by: str, cycles: list[int]) -> list[tuple]:
    """(cycle, direction, times, volts, currents) of each chosen half cycle that has records."""
    leading: Kind | None = summary.leading
    _, numbers = number_cycles(summary.segments, cycle_by, leading)  # type: ignore[arg-type]
    cycle_of_step = {segment.step: number for segment, number in zip(summary.segments, numbers, strict=True)}
    kind_of_step = {segment.step: segment.kind for segment in summary.segments}
    records = frame.with_columns(
        pl.col("step").replace_strict(cycle_of_step, default=None).alias("_cycle"),
        pl.col("step").replace_strict(kind_of_step, default=None).alias("_kind"),
    )
    halves = []
    for cycle in cycles:
        for direction in ("charge", "discharge"):
            half = records.filter((pl.col("_cycle") == cycle) & (pl.col("_kind") == direction))
            if half.height >= 3:
                halves.append(
                    (
                        cycle,
                        direction,
                        half.get_column("time_s").to_numpy().astype(float),
                        half.get_column("voltage_V").to_numpy().astype(float),
                        half.get_column("current_mA").to_numpy().astype(float),
                    )
                )
    return halves


def _passed(times: np.ndarray, amps_mA: np.ndarray) -> np.ndarray:
    """Capacity passed since the half began, mAh (trapezoids of |I| over time)."""
    dt = np.diff(times, prepend=times[0])
    mean_current = np.abs(np.concatenate([[0.0], (amps_mA[1:] + amps_mA[:-1]) / 2]))
    return np.cumsum(mean_current * dt / 3600)


def voltage_profiles(
    frame: pl.DataFrame, summary: Summary, cycle_by: str, cycles: list[int], max_points: int = 500
) -> list[Profile]:
    """Voltage against capacity passed in each half cycle, thinned to at most `max_points` records."""
    profiles = []
    for cycle, direction, times, volts, amps in _halves(frame, summary, cycle_by, cycles):
        passed = _passed(times, amps)
        keep = np.unique(np.linspace(0, passed.size - 1, min(max_points, passed.size)).astype(int))
        profiles.append(
            Profile(
                cycle,
                direction,
                [round(float(q), 6) for q in passed[keep]],
                [round(float(v), 6) for v in volts[keep]],
            )
        )
    return profiles


def differential_capacity(
    frame: pl.DataFrame,
    summary: Summary,
    cycle_by: str,
    cycles: list[int],
    resolution_V: float = DEFAULT_RESOLUTION_V,
    smoothing: int = DEFAULT_SMOOTHING_POINTS,
) -> list[Curve]:
    curves = []
    for cycle, direction, times, volts, amps in _halves(frame, summary, cycle_by, cycles):
        volts, charge = _half(times, volts, amps, direction)
        # On discharge the capacity passed grows as the voltage falls: its dQ/dV comes out negative.
        grid, slope = _dqdv(volts, charge, resolution_V, smoothing)
        curves.append(Curve(cycle, direction, [round(float(v), 6) for v in grid], [float(d) for d in slope]))
    return curves


def _dvdq(passed: np.ndarray, volts: np.ndarray, points: int, smoothing: int) -> tuple:
    """Voltage on an even capacity grid across the half, smoothed, and its slope (V/mAh)."""
    advanced = np.concatenate([[True], passed[1:] > passed[:-1]])  # np.interp needs rising capacity
    passed, volts = passed[advanced], volts[advanced]
    if passed.size < 3 or passed[-1] <= passed[0]:
        return np.array([]), np.array([])
    grid = np.linspace(passed[0], passed[-1], points)
    on_grid = _smoothed(np.interp(grid, passed, volts), smoothing)
    return grid, np.gradient(on_grid, grid)


def differential_voltage(
    frame: pl.DataFrame,
    summary: Summary,
    cycle_by: str,
    cycles: list[int],
    points: int = DEFAULT_DVDQ_POINTS,
    smoothing: int = DEFAULT_SMOOTHING_POINTS,
) -> list[VoltageSlope]:
    slopes = []
    for cycle, direction, times, volts, amps in _halves(frame, summary, cycle_by, cycles):
        grid, slope = _dvdq(_passed(times, amps), volts, points, smoothing)
        slopes.append(
            VoltageSlope(cycle, direction, [round(float(q), 9) for q in grid], [float(d) for d in slope])
        )
    return slopes
