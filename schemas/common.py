"""Shapes used across the API: quantities, pages, problem details, reasons."""

import math
import re
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

_QUANTITY_TEXT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S.*?)\s*$")

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]


def _unstorable(value: Any) -> str | None:
    """Why a value cannot be kept as sent, looking inside free-form JSON (properties, parameters) too:
    PostgreSQL text cannot hold a NUL character, and JSON has no NaN or Infinity."""
    if isinstance(value, str):
        return "contains a NUL character" if "\x00" in value else None
    if isinstance(value, float):
        return None if math.isfinite(value) else "is not a finite number"
    if isinstance(value, dict):
        return next((why for pair in value.items() for part in pair if (why := _unstorable(part))), None)
    if isinstance(value, list | tuple):
        return next((why for part in value if (why := _unstorable(part))), None)
    return None


class Contract(BaseModel):
    """Base of every request shape: unknown fields are errors, never silently dropped."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        if (why := _unstorable(value)) is not None:
            raise ValueError(f"the value {why}")
        return value


class Quantity(Contract):
    """A value with a unit, e.g. {"value": 2.75, "unit": "g"}; "2.75 g" is accepted as input too."""

    value: float
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
