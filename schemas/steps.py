"""Steps: one performed process, its inputs (consumed items) and its outputs (created items)."""

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, model_validator

from schemas.common import Contract, Quantity
from schemas.items import ItemCode, ItemRef, Properties, ShortText, TypeName
from schemas.signatures import SignatureOut

ProtocolRef = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9._-]{0,99}@[1-9][0-9]{0,5}$")
]
Role = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]{0,63}$")]
ParameterValue = Quantity | bool | float | Annotated[str, StringConstraints(max_length=2000)]
InstrumentCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
    ),
]


class StepInputIn(Contract):
    role: Role
    item: ItemCode
    amount: Quantity | None = None


class StepOutputIn(Contract):
    """Items the step made; `count` > 1 makes that many alike (e.g. 10 coated Li discs)."""

    type: TypeName
    count: Annotated[int, Field(ge=1, le=1000)] = 1
    code: ItemCode | None = None
    name: ShortText | None = None
    quantity: Quantity | None = None
    properties: Properties = {}

    @model_validator(mode="after")
    def _one_code_one_item(self) -> "StepOutputIn":
        if self.code is not None and self.count != 1:
            raise ValueError("a fixed code can only name one item; leave code out when count > 1")
        return self


class StepInstrumentIn(Contract):
    """An instrument the step was done with, in one of its template's instrument roles (e.g. glovebox)."""

    role: Role
    instrument: InstrumentCode


class DeviationIn(Contract):
    """A written reason for a value outside its template's range; `field` is the value's JSON pointer,
    e.g. "/parameters/temperature" or "/inputs/0/amount" or "/checks/fe_linker_ratio"."""

    field: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^/.{1,300}$")]
    justification: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=2000)]


class Deviation(BaseModel):
    """A recorded deviation: the field, why, and what the template expected against what was done."""

    field: str
    justification: str
    expected: Any = None
    got: Any = None


class StepIn(Contract):
    """A performed step, logged against the protocol it followed as `name@version`."""

    protocol: ProtocolRef
    started_at: datetime | None = None
    ended_at: datetime | None = None
    parameters: dict[Annotated[str, StringConstraints(min_length=1, max_length=100)], ParameterValue] = {}
    inputs: list[StepInputIn] = []
    outputs: Annotated[list[StepOutputIn], Field(min_length=1, max_length=100)]
    notes: Annotated[str, StringConstraints(max_length=20000)] | None = None
    deviations: Annotated[list[DeviationIn], Field(max_length=100)] = []
    instruments: Annotated[list[StepInstrumentIn], Field(max_length=20)] = []

    @model_validator(mode="after")
    def _ends_after_start(self) -> "StepIn":
        if self.started_at and self.ended_at and self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        return self


class StepInputOut(BaseModel):
    role: str
    item: ItemRef
    amount: Quantity | None


class StepInstrumentOut(BaseModel):
    """An instrument a step used, with its calibration state on the step's day (kept as it was then)."""

    role: str
    instrument: str
    kind: str
    calibration_state: str
    calibration_due_on: date | None = None
    warning: str | None = None


class StepOut(BaseModel):
    id: int
    protocol: str
    status: str
    operator: str
    started_at: datetime | None
    ended_at: datetime | None
    parameters: dict[str, ParameterValue]
    inputs: list[StepInputOut]
    outputs: list[ItemRef]
    notes: str | None
    created_at: datetime
    void_reason: str | None
    signatures: list[SignatureOut] | None = None  # on GET /steps/{id}; never part of what is signed
    deviating: bool = False
    deviations: list[Deviation] = []
    normalized: dict[str, Quantity] = Field(
        default={}, description="each quantity at its JSON pointer, in the unit of the template"
    )
    computed: dict[str, Quantity] = Field(
        default={}, description="the template's checks and derived values, as computed for this step"
    )
    instruments: list[StepInstrumentOut] = []


__all__ = [
    "Deviation",
    "DeviationIn",
    "ItemCode",
    "ParameterValue",
    "ProtocolRef",
    "ShortText",
    "StepIn",
    "StepOut",
]
