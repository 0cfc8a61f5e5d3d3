"""Numbers, units and counts as people write them: 53.22 cm², 147.8 mAh/g, "1 item"."""

from __future__ import annotations

import re
from typing import Any

from schemas import Quantity

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_POWER = re.compile(r"(?:\*\*|\^)(-?\d+)")
_IRREGULAR = {"entry": "entries", "analysis": "analyses", "batch": "batches", "is": "are"}


def unit_text(unit: str) -> str:
    """pint's spelling as printed: cm**2 → cm², m**-1 → m⁻¹, mA*h → mA·h."""
    powered = _POWER.sub(lambda match: match.group(1).translate(_SUPERSCRIPT), unit)
    return powered.replace("*", "·")


def number_text(value: float) -> str:
    """Up to six significant digits: enough for a balance, short of float noise (147.79999999999998)."""
    return f"{value:.6g}"


def quantity_text(value: Any) -> str:
    """A quantity (model, {"value", "unit"} or "2.75 g") as a person reads it; anything else as text."""
    if isinstance(value, dict) and set(value) == {"value", "unit"}:
        value = Quantity.model_validate(value)
    if isinstance(value, Quantity):
        return f"{number_text(value.value)} {unit_text(value.unit)}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return number_text(value)
    return "" if value is None else str(value)


def count_text(count: int, noun: str) -> str:
    """ "1 item", "2 items", "3 entries"."""
    if count == 1:
        return f"1 {noun}"
    return f"{count} {_IRREGULAR.get(noun, noun + 's')}"
