"""A step's parameters read against its template version: each value beside the nominal value or range it
was held to, marked when outside, with the deviation and its justification recorded for it."""

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from schemas.steps import Deviation, StepOut
from schemas.templates import Limits
from service.errors import DomainError
from service.templates import logic as templates
from service.ui.numbers import number, quantity, unit


@dataclass
class ParameterRow:
    name: str
    value: str
    expected: str
    outside: bool
    deviation: Deviation | None


def expected(limits: Limits) -> str:
    """`110 ± 5 °C`, `110 ± 5 %`, `20 – 60 °C`, `≥ 2 h`; empty when the template sets no range."""
    shown_unit = unit(limits.unit)
    parts = []
    if limits.nominal is not None:
        if limits.tolerance is not None:
            parts.append(f"{number(limits.nominal)} ± {number(limits.tolerance)} {shown_unit}")
        elif limits.tolerance_percent is not None:
            parts.append(f"{number(limits.nominal)} {shown_unit} ± {number(limits.tolerance_percent)} %")
        else:
            parts.append(f"{number(limits.nominal)} {shown_unit} nominal")
    if limits.min is not None and limits.max is not None:
        parts.append(f"{number(limits.min)} – {number(limits.max)} {shown_unit}")
    elif limits.min is not None:
        parts.append(f"≥ {number(limits.min)} {shown_unit}")
    elif limits.max is not None:
        parts.append(f"≤ {number(limits.max)} {shown_unit}")
    return "; ".join(part.strip() for part in parts)


def _outside(limits: Limits, value: float) -> bool:
    if limits.min is not None and value < limits.min:
        return True
    if limits.max is not None and value > limits.max:
        return True
    if limits.nominal is not None:
        spread = limits.tolerance
        if spread is None and limits.tolerance_percent is not None:
            spread = abs(limits.nominal) * limits.tolerance_percent / 100
        if spread is not None and abs(value - limits.nominal) > spread * (1 + 1e-9):
            return True
    return False


def _shown(value: Any) -> str:
    if isinstance(value, dict) or hasattr(value, "unit"):
        return quantity(value)
    return number(value) if isinstance(value, float) else str(value)


def parameter_rows(session: Session, step: StepOut) -> list[ParameterRow]:
    deviations = {d.field: d for d in step.deviations}
    specs = {}
    name, _, version = step.protocol.rpartition("@")
    try:
        template = templates.definition_of(templates.get_version(session, name, int(version)))
        specs = {spec.name: spec for spec in template.parameters}
    except (DomainError, ValueError):
        pass  # a step of an unknown protocol version: its values are shown without a range
    rows = []
    for key, value in step.parameters.items():
        pointer = f"/parameters/{key}"
        spec = specs.get(key)
        normal = step.normalized.get(pointer)
        outside = spec is not None and normal is not None and spec.ranged() and _outside(spec, normal.value)
        rows.append(
            ParameterRow(
                name=key,
                value=_shown(value),
                expected=expected(spec) if spec is not None else "",
                outside=outside or pointer in deviations,
                deviation=deviations.get(pointer),
            )
        )
    return rows
