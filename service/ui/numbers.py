"""How /ui writes numbers and units: sensible significant digits, units in their usual typeset form
(mAh g⁻¹, cm², °C), plurals right. Registered as template filters by service.ui.pages."""

import math
from typing import Any

# Units as the API spells them (pint-readable) → as a person writes them.
_UNIT_FORMS = {
    "degC": "°C",
    "degree_Celsius": "°C",
    "celsius": "°C",
    "delta_degC": "°C",
    "mAh/g": "mAh g⁻¹",
    "mA/g": "mA g⁻¹",
    "mAh/cm2": "mAh cm⁻²",
    "mAh/cm^2": "mAh cm⁻²",
    "mA/cm2": "mA cm⁻²",
    "mA/cm^2": "mA cm⁻²",
    "mg/cm2": "mg cm⁻²",
    "mg/cm^2": "mg cm⁻²",
    "g/cm3": "g cm⁻³",
    "g/cm^3": "g cm⁻³",
    "m2/g": "m² g⁻¹",
    "m^2/g": "m² g⁻¹",
    "S/cm": "S cm⁻¹",
    "cm2": "cm²",
    "cm^2": "cm²",
    "mm2": "mm²",
    "mm^2": "mm²",
    "cm3": "cm³",
    "cm^3": "cm³",
    "ohm": "Ω",
    "ohm*cm2": "Ω cm²",
    "ohm*cm^2": "Ω cm²",
    "percent": "%",
    "pct": "%",
    "degree": "°",
    "um": "µm",
    "uL": "µL",
    "uA": "µA",
    "ug": "µg",
    "kJ/mol": "kJ mol⁻¹",
    "mV/dec": "mV dec⁻¹",
    "1/cycle": "cycle⁻¹",
    "%/cycle": "% cycle⁻¹",
}


def unit(text: Any) -> str:
    """A unit in its usual form: `mAh/g` → `mAh g⁻¹`, `degC` → `°C`, `cm2` → `cm²`."""
    shown = str(text or "").strip()
    return _UNIT_FORMS.get(shown, shown)


def number(value: Any, digits: int = 4) -> str:
    """A measured value with `digits` significant digits, no trailing zeros, no scientific notation for
    the sizes a lab reads (1e-4 … 1e6): 22.250000001 → 22.25, 159.98765 → 160, 0.000123 → 0.000123."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or (math.isfinite(value) and value == int(value) and abs(value) < 1e15):
        return f"{int(value):d}"
    if not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if 1e-4 <= magnitude < 1e6:
        decimals = max(0, digits - 1 - math.floor(math.log10(magnitude)))
        text = f"{value:.{decimals}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return f"{value:.{digits}g}"


def quantity(value: Any, unit_text: Any = None) -> str:
    """A quantity as `22.25 g`; takes {"value": .., "unit": ..} or a value and a unit."""
    if isinstance(value, dict) and "value" in value:
        value, unit_text = value["value"], value.get("unit")
    elif hasattr(value, "value") and hasattr(value, "unit"):
        value, unit_text = value.value, value.unit
    shown = unit(unit_text)
    return f"{number(value)} {shown}".strip() if shown else number(value)


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 cycle`, `2 cycles`, `0 cycles` (`many` for irregular words: plural(n, 'analysis', 'analyses'))."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def change(value: Any) -> str:
    """A value in a record's history, as a person reads it: quantities as `25 g`, lists joined, dicts as
    `key value`; never Python's repr."""
    if value is None:
        return "–"
    if isinstance(value, dict):
        if "value" in value and "unit" in value:
            return quantity(value)
        return ", ".join(f"{key} {change(inner)}" for key, inner in value.items()) or "–"
    if isinstance(value, list | tuple):
        return ", ".join(change(inner) for inner in value) or "–"
    return number(value) if isinstance(value, float) else str(value)


_WORDS = {"ce": "CE", "80pct": "80 %", "dqdv": "dQ/dV", "ocv": "OCV"}


def metric_name(name: str) -> str:
    """`average_ce` → `average CE`, `cycles_to_80pct` → `cycles to 80 %`."""
    return " ".join(_WORDS.get(word, word) for word in str(name).split("_"))


def measure(value: Any, unit_text: Any) -> str:
    """A metric's value with its unit, counted units in the singular for one (`1 cycle`)."""
    if value is None:
        return "–"
    shown = unit(unit_text)
    if shown == "cycles" and value == 1:
        shown = "cycle"
    return f"{number(value)} {shown}".strip()
