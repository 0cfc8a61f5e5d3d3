"""Shapes used across the API: quantities, pages, problem details, reasons."""

import math
import re
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

_QUANTITY_TEXT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S.*?)\s*$")

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]


# Free-form JSON (properties) deeper than this is refused: nobody records a lab fact 32 levels down.
MAX_DEPTH = 32
# Quantities beyond this cannot be converted between units without overflowing to infinity.
MAX_MAGNITUDE = 1e15


def storable_problem(value: Any, depth: int = 0) -> str | None:
    """Why `value` cannot be stored as JSON text on both databases, or None when it can.

    Python's json module accepts NaN and Infinity, which are not JSON; PostgreSQL text refuses NUL
    characters; a lone surrogate has no UTF-8 form. All three are caught here, before any SQL runs."""
    if depth > MAX_DEPTH:
        return f"nested deeper than {MAX_DEPTH} levels"
    if isinstance(value, str):
        if "\x00" in value:
            return "text must not contain NUL (U+0000) characters"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "text must be valid Unicode (no lone surrogates)"
    elif isinstance(value, float):
        if not math.isfinite(value):
            return "numbers must be finite (NaN and Infinity are not JSON)"
    elif isinstance(value, dict):
        for key, item in value.items():
            found = storable_problem(key, depth + 1) or storable_problem(item, depth + 1)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for item in value:
            found = storable_problem(item, depth + 1)
            if found:
                return found
    return None


def records_by_kind(refs: list[str]) -> dict[str, list[str]]:
    """References grouped by kind: ["item:CC-0001", "step:12"] -> {"item": ["CC-0001"], "step": ["12"]}."""
    grouped: dict[str, list[str]] = {}
    for ref in refs:
        kind, _, key = ref.partition(":")
        grouped.setdefault(kind, []).append(key)
    return grouped


class Contract(BaseModel):
    """Base of every request shape: unknown fields are errors, never silently dropped, and every value must
    be storable as it came (see `storable_problem`)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        # Per field, so the problem points at the field (and every bad field is listed), not at the body.
        if (found := storable_problem(value)) is not None:
            raise ValueError(found)
        return value


class Quantity(Contract):
    """A value with a unit, e.g. {"value": 2.75, "unit": "g"}; "2.75 g" is accepted as input too."""

    value: Annotated[float, Field(ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE)]
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            match = _QUANTITY_TEXT.match(data)
            if not match:
                raise ValueError("a quantity is a number followed by a unit, e.g. '2.75 g'")
            return {"value": float(match.group(1)), "unit": match.group(2)}
        return data

    @field_validator("value", mode="before")
    @classmethod
    def _not_a_truth_value(cls, value: Any) -> Any:
        # pydantic would read true as 1.0: "true litres" is a client's mistake, not an amount.
        if isinstance(value, bool):
            raise ValueError("a quantity's value is a number, not true or false")
        return value

    def __str__(self) -> str:
        return f"{self.value:g} {self.unit}"


class VoidIn(Contract):
    reason: Reason


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` back as `cursor` for the next one (null: last page)."""

    items: list[T]
    next_cursor: str | None = None


class ProblemItem(BaseModel):
    """One thing wrong with a request: where (a JSON pointer into the body, or a parameter) and what."""

    pointer: str
    detail: str
    expected: Any = None
    got: Any = None


class Problem(BaseModel):
    """RFC 9457 problem details, with every problem of the request listed in `errors`."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[ProblemItem] = Field(default_factory=list)
