"""Quantities with units (pint): parsing what clients send, converting amounts, checking dimensions."""

import re
from functools import lru_cache

import pint

from labrules.problems import problem
from schemas import ProblemItem, Quantity

ureg: pint.UnitRegistry = pint.UnitRegistry()
ureg.formatter.default_format = "~P"

# Units are parsed by pint, which evaluates expressions; let through only what a unit can look like.
_UNIT_TEXT = re.compile(r"^[A-Za-zµμ°%Ω0-9*/^.·() _-]{1,64}$")


# A number standing on its own in a unit (not part of a name such as "m2").
_NUMBER = re.compile(r"(?<![\w.])(?:\d+\.?\d*|\.\d+)(?:[eE]-?\d+)?")
MAX_EXPONENT = 9
MAX_POWER = 4


class UnitProblem(ValueError):
    pass


def _check_numbers(unit: str) -> None:
    """pint computes the numbers in a unit before it looks at them: "9**9**9" would tie up a worker for
    minutes working out a number with 370 million digits. So a number may only be a small exponent that is
    not raised again (m**2, g**-1), or the 1 of 1/h."""
    for match in _NUMBER.finditer(unit):
        before = unit[: match.start()].rstrip()
        before = before.removesuffix("-").rstrip()
        after = unit[match.end() :].lstrip()
        if after.startswith(("**", "^")):
            raise UnitProblem(f"{unit!r} is not a unit: a power of a number")
        if before.endswith(("**", "^")):
            if abs(float(match.group())) > MAX_EXPONENT:
                raise UnitProblem(f"{unit!r} is not a unit: exponents go up to {MAX_EXPONENT}")
        elif float(match.group()) != 1:
            raise UnitProblem(f"{unit!r} is not a unit: a number other than an exponent")


@lru_cache(maxsize=1024)
def parse_unit(unit: str) -> pint.Unit:
    if not _UNIT_TEXT.match(unit):
        raise UnitProblem(f"{unit!r} is not a unit")
    _check_numbers(unit)
    try:
        parsed = ureg.parse_units(unit.replace("·", "*"))
    except Exception as exc:  # pint raises many unrelated types (UndefinedUnitError, TokenError, ...) here
        raise UnitProblem(f"{unit!r} is not a unit pint knows ({type(exc).__name__})") from exc
    # kg**9999999 parses, but converting it overflows: no lab unit has a dimension beyond the 4th power.
    if any(abs(float(power)) > MAX_POWER for power in parsed.dimensionality.values()):  # type: ignore[arg-type]
        raise UnitProblem(f"{unit!r} has a dimension beyond the power of {MAX_POWER}")
    return parsed


def to_pint(quantity: Quantity) -> pint.Quantity:
    return ureg.Quantity(quantity.value, parse_unit(quantity.unit))


def check_quantity(quantity: Quantity, pointer: str, *, positive: bool = False) -> ProblemItem | None:
    """The problem with a client's quantity, or None when it is a usable value with a known unit."""
    try:
        parse_unit(quantity.unit)
    except UnitProblem as exc:
        return problem(
            f"{pointer}/unit", str(exc), expected="a unit such as g, mg, mL, µL, degC, h", got=quantity.unit
        )
    if positive and quantity.value <= 0:
        return problem(f"{pointer}/value", "must be greater than zero", expected="> 0", got=quantity.value)
    return None


def dimension(unit: str) -> str:
    return str(parse_unit(unit).dimensionality)


def convert(quantity: Quantity, unit: str) -> float:
    """`quantity` in `unit`; raises pint.DimensionalityError when they measure different things."""
    return _converted(quantity.value, quantity.unit, unit)


@lru_cache(maxsize=4096)
def _converted(value: float, unit: str, to_unit: str) -> float:
    # Labs log the same amounts in the same units over and over (2.75 g of a lot, recipe after recipe); pint
    # takes tens of microseconds per conversion, and this keeps its exact result.
    return float(ureg.Quantity(value, parse_unit(unit)).to(parse_unit(to_unit)).magnitude)
