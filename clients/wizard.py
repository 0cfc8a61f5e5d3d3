"""What `cellprov step new` checks in each answer as it is given: pure functions, no prompts, no server.

Each check takes the template's spec and the text typed and returns `Accepted` (the value to send),
`OutOfRange` (a usable value the template does not accept without a written deviation) or `Refused` (why
the answer cannot be used; the wizard asks again). The server checks everything once more when the step
is logged: these checks only spare the user a refusal after the last question.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pint
import yaml
from pydantic import ValidationError

from labrules import units
from schemas import (
    AmountSpec,
    InputRole,
    ItemOut,
    ItemStatus,
    ParameterKind,
    ParameterSpec,
    PropertySpec,
    Quantity,
    StepIn,
)
from schemas.templates import Limits

_SLACK = 1e-9

_DIMENSIONS = {
    "[time]": "a time",
    "[mass]": "a mass",
    "[length] ** 3": "a volume",
    "[length] ** 2": "an area",
    "[length]": "a length",
    "[temperature]": "a temperature",
    "[substance]": "an amount of substance",
    "[current]": "a current",
    "[mass] / [length] ** 2": "a mass per area",
    "[mass] / [length] ** 3": "a concentration by mass",
    "dimensionless": "a plain number",
}

_UNUSABLE = {
    ItemStatus.voided: "is voided",
    ItemStatus.quarantined: "is quarantined until a reviewer releases it",
    ItemStatus.consumed: "is used up",
}


@dataclass(frozen=True)
class Accepted:
    value: Any


@dataclass(frozen=True)
class OutOfRange:
    """A value outside the template's range: it may still be logged, with a deviation for `pointer`."""

    value: Any
    pointer: str
    why: str


@dataclass(frozen=True)
class Refused:
    why: str


Answer = Accepted | OutOfRange | Refused


def dimension_words(unit: str) -> str:
    """What a unit measures, as a person says it: "a time", "a mass", "a volume"."""
    dimensionality = units.dimension(unit)
    return _DIMENSIONS.get(dimensionality, f"of dimension {dimensionality}")


def convert(quantity: Quantity, unit: str) -> float | None:
    """`quantity` in `unit`, or None when they measure different things."""
    try:
        return units.convert(quantity, unit)
    except pint.DimensionalityError:
        return None


def read_quantity(text: str, default_unit: str | None = None) -> Quantity | Refused:
    """ "4 h", or a bare "4" read in `default_unit`; the unit must be one cellprov knows."""
    text = text.strip()
    if default_unit and _is_number(text):
        text = f"{text} {default_unit}"
    try:
        quantity = Quantity.model_validate(text)
    except ValidationError:
        return Refused(f"{text!r} is not a quantity: write a number and a unit, e.g. '2.75 g'")
    try:
        units.parse_unit(quantity.unit)
    except units.UnitProblem as exc:
        return Refused(str(exc))
    return quantity


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _fits(value: float, limits: Limits) -> bool:
    low, high = limits.bounds()
    if low is not None and value < low - _SLACK * max(1.0, abs(low)):
        return False
    return not (high is not None and value > high + _SLACK * max(1.0, abs(high)))


def _quantity_answer(text: str, limits: Limits, what: str, pointer: str, unit: str) -> Answer:
    """A quantity of the dimension of `unit`, and within `limits` (expressed in `unit`) if it has any."""
    quantity = read_quantity(text, unit)
    if isinstance(quantity, Refused):
        return quantity
    value = convert(quantity, unit)
    if value is None:
        return Refused(
            f"{quantity} is {dimension_words(quantity.unit)}; {what} is {dimension_words(unit)} "
            f"(in {unit}, e.g. '{_example(limits, unit)}')"
        )
    if limits.ranged() and limits.unit is not None and not _fits(value, limits):
        shown = str(quantity) + ("" if quantity.unit == unit else f" (= {value:g} {unit})")
        return OutOfRange(quantity, pointer, f"{what} {shown} is outside {limits.describe()}")
    return Accepted(quantity)


def _example(limits: Limits, unit: str) -> str:
    return f"{limits.nominal:g} {unit}" if limits.nominal is not None else f"1 {unit}"


def check_parameter(spec: ParameterSpec, text: str) -> Answer:
    """One parameter's answer; empty text leaves out an optional one (Accepted(None))."""
    text = text.strip()
    pointer = f"/parameters/{spec.name}"
    if not text:
        return Accepted(None) if not spec.required else Refused(f"{spec.name} is required")
    if spec.kind == ParameterKind.quantity:
        assert spec.unit is not None  # a quantity parameter always has one (ParameterSpec checks)
        return _quantity_answer(text, spec, spec.name, pointer, spec.unit)
    if spec.kind == ParameterKind.number:
        if not _is_number(text):
            return Refused(f"{spec.name} is a plain number, e.g. {spec.nominal or 1:g}; {text!r} is not")
        number = float(text)
        if spec.ranged() and not _fits(number, spec):
            return OutOfRange(number, pointer, f"{spec.name} {number:g} is outside {spec.describe()}")
        return Accepted(number)
    if spec.kind == ParameterKind.choice:
        choices = spec.choices or []
        if text in choices:
            return Accepted(text)
        return Refused(f"{spec.name} is one of {', '.join(choices)}" + _did_you_mean(text, choices))
    if spec.kind == ParameterKind.bool:
        if text.lower() in ("y", "yes", "true"):
            return Accepted(True)
        if text.lower() in ("n", "no", "false"):
            return Accepted(False)
        return Refused(f"{spec.name} is yes or no")
    return Accepted(text)


def _did_you_mean(text: str, candidates: list[str]) -> str:
    close = closest(text, candidates)
    return f" — did you mean {close}?" if close else ""


# Characters a hurried eye or a label printer mixes up: a swap between them is half a typo.
_LOOK_ALIKE = {frozenset(pair) for pair in ("O0", "I1", "L1", "S5", "B8", "Z2")}


def _typo_distance(a: str, b: str) -> float:
    """Edit distance (Levenshtein) where swapping look-alike characters (O/0, I/1) costs a half."""
    before = [float(n) for n in range(len(b) + 1)]
    for i, x in enumerate(a, 1):
        row = [float(i)]
        for j, y in enumerate(b, 1):
            swap = 0.0 if x == y else 0.5 if frozenset((x, y)) in _LOOK_ALIKE else 1.0
            row.append(min(before[j] + 1, row[j - 1] + 1, before[j - 1] + swap))
        before = row
    return before[-1]


def closest(code: str, candidates: list[str]) -> str | None:
    """The candidate a mistyped code most likely meant (CC-0O01 → CC-0001), or None if none is close:
    at most one typo in three characters. On a tie the earlier candidate (the better search hit) wins."""
    typed = code.upper()
    scored = [(_typo_distance(typed, candidate.upper()), n) for n, candidate in enumerate(candidates)]
    if not scored:
        return None
    distance, best = min(scored)
    return candidates[best] if 0 < distance <= max(1.0, len(typed) / 3) else None


def no_such_item(code: str, candidates: list[str]) -> str:
    return f"no item {code}" + (f" — did you mean {close}?" if (close := closest(code, candidates)) else "")


def check_item(role: InputRole, item: ItemOut) -> Refused | None:
    """Why `item` cannot play `role` (wrong type, voided, quarantined, used up), or None."""
    if item.type not in role.types:
        return Refused(f"{item.code} is a {item.type}; the {role.role} role takes {' or '.join(role.types)}")
    if (why := _UNUSABLE.get(ItemStatus(item.status))) is not None:
        return Refused(f"{item.code} {why}")
    return None


def check_amount(role: InputRole, item: ItemOut, text: str, pointer: str, used: float = 0.0) -> Answer:
    """How much of `item` the step uses: of the role's dimension, within its range, and no more than is
    left of the item after `used` (what earlier answers of this step took from it, in the item's unit)."""
    spec = role.amount or AmountSpec(required=False)
    text = text.strip()
    if not text:
        return Refused(f"the amount of {item.code} is required") if spec.required else Accepted(None)
    left = item.remaining if item.remaining is not None else item.quantity
    unit = spec.unit or (left.unit if left is not None else None)
    if unit is None:
        quantity = read_quantity(text)
        return quantity if isinstance(quantity, Refused) else Accepted(quantity)
    answer = _quantity_answer(text, spec, f"the amount of {item.code}", pointer, unit)
    if isinstance(answer, Refused) or left is None:
        return answer
    taken = convert(answer.value, left.unit)
    if taken is None:
        return Refused(f"{item.code} is counted in {left.unit}; {answer.value} is {dimension_words(unit)}")
    if taken <= 0:
        return Refused("an amount is greater than zero")
    available = left.value - used
    if taken > available + _SLACK * max(1.0, taken):
        return Refused(f"only {available:g} {left.unit} of {item.code} is left; {answer.value} is more")
    return answer


def check_output_quantity(spec: AmountSpec, text: str, what: str, pointer: str) -> Answer:
    text = text.strip()
    if not text:
        return Refused(f"the quantity of {what} is required") if spec.required else Accepted(None)
    if spec.unit is None:
        quantity = read_quantity(text)
        return quantity if isinstance(quantity, Refused) else Accepted(quantity)
    return _quantity_answer(text, spec, f"the quantity of {what}", pointer, spec.unit)


def check_property(spec: PropertySpec, text: str, pointer: str) -> Answer:
    """A property of an output: a quantity when the template gives it a unit, else text."""
    text = text.strip()
    if not text:
        return Refused(f"{spec.name} is required") if spec.required else Accepted(None)
    if spec.unit is None:
        return Accepted(text)
    answer = _quantity_answer(text, spec, spec.name, pointer, spec.unit)
    if isinstance(answer, Accepted | OutOfRange):
        plain = answer.value.model_dump()
        return Accepted(plain) if isinstance(answer, Accepted) else OutOfRange(plain, pointer, answer.why)
    return answer


def check_time(text: str, now: datetime, after: datetime | None = None) -> Accepted | Refused:
    """A start or end time: empty or "now" is now; else an ISO date and time, in local time if no zone."""
    text = text.strip()
    if text.lower() in ("", "now"):
        moment = now
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return Refused(f"{text!r} is not a time like 2026-12-07 09:30 (or 'now')")
        if moment.tzinfo is None:
            moment = moment.astimezone()
    if moment.astimezone(UTC) > now.astimezone(UTC):
        return Refused(f"{moment:%Y-%m-%d %H:%M} is in the future")
    if after is not None and moment < after:
        return Refused(f"the end is before the start ({after:%Y-%m-%d %H:%M})")
    return Accepted(moment)


def justification_problem(text: str) -> str | None:
    """The server keeps a deviation only with a reason a reviewer can read (at least 10 characters)."""
    if len(text.strip()) < 10:
        return "write why, in at least 10 characters (a reviewer reads it)"
    return None


def answers_as_yaml(step: StepIn) -> str:
    """The answers as a file `cellprov step log FILE` accepts."""
    body = step.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    body["protocol"] = step.protocol
    body["outputs"] = step.model_dump(mode="json", exclude_none=True)["outputs"]
    return yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
