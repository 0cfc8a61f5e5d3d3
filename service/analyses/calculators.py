"""Electrochemistry calculators: pure functions over plain SI-ish floats, checked against known answers."""

import math
from dataclasses import dataclass

GAS_CONSTANT = 8.314462618  # J / (mol K)
FARADAY = 96485.33212  # C / mol
LN10 = math.log(10)


class CalculationError(ValueError):
    pass


def transference_number(delta_V: float, I0: float, Is: float, R0: float, Rs: float) -> float:
    """Bruce–Vincent: t+ = Is(ΔV − I0·R0) / (I0(ΔV − Is·Rs)); volts, amperes and ohms (any consistent set)."""
    denominator = I0 * (delta_V - Is * Rs)
    if denominator == 0:
        raise CalculationError("I0·(ΔV − Is·Rs) is zero")
    return Is * (delta_V - I0 * R0) / denominator


@dataclass(frozen=True)
class Line:
    slope: float
    intercept: float
    r_squared: float
    n: int


def fit_line(xs: list[float], ys: list[float]) -> Line:
    n = len(xs)
    if n < 2:
        raise CalculationError("a line needs at least two points")
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        raise CalculationError("all x values are equal; no line can be fitted")
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    ss_tot = sum((y - mean_y) ** 2 for y in ys)
    ss_res = sum((y - (intercept + slope * x)) ** 2 for x, y in zip(xs, ys, strict=True))
    return Line(slope, intercept, 1.0 if ss_tot == 0 else 1 - ss_res / ss_tot, n)


@dataclass(frozen=True)
class Tafel:
    exchange_current_density: float
    """In the unit the current densities came in."""
    tafel_slope_V_per_decade: float
    transfer_coefficient: float
    r_squared: float
    n: int


def tafel(overpotentials_V: list[float], current_densities: list[float], temperature_K: float) -> Tafel:
    """Fit η = a + b·log10|i| over the points given; i0 is where the line reaches η = 0: log10 i0 = −a/b."""
    points = [
        (abs(eta), abs(i)) for eta, i in zip(overpotentials_V, current_densities, strict=True) if i != 0
    ]
    if len(points) < 2:
        raise CalculationError("at least two points with a non-zero current are needed")
    line = fit_line([math.log10(i) for _, i in points], [eta for eta, _ in points])
    if line.slope <= 0:
        raise CalculationError("|η| does not rise with log|i|: these points are not a Tafel region")
    i0 = 10 ** (-line.intercept / line.slope)
    alpha = LN10 * GAS_CONSTANT * temperature_K / (line.slope * FARADAY)
    return Tafel(i0, line.slope, alpha, line.r_squared, line.n)


@dataclass(frozen=True)
class Arrhenius:
    activation_energy_J_per_mol: float
    prefactor: float
    """A in 1/Rct = A·exp(−Ea/RT), in 1/(the resistance unit given)."""
    r_squared: float
    n: int


def arrhenius(temperatures_K: list[float], resistances: list[float]) -> Arrhenius:
    """ln(1/Rct) = ln A − Ea/(R·T): the slope against 1/T is −Ea/R."""
    if any(t <= 0 for t in temperatures_K) or any(r <= 0 for r in resistances):
        raise CalculationError("temperatures (K) and resistances must be positive")
    line = fit_line([1 / t for t in temperatures_K], [math.log(1 / r) for r in resistances])
    return Arrhenius(-line.slope * GAS_CONSTANT, math.exp(line.intercept), line.r_squared, line.n)
