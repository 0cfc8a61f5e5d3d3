"""Bulk import: a batch of operations (receive a lot, log a step) applied in one transaction."""

from typing import Annotated, Literal

from pydantic import BaseModel, Field, RootModel

from schemas.common import Contract
from schemas.items import LotIn
from schemas.steps import StepIn

MAX_OPERATIONS = 20_000


class ReceiveLotOperation(Contract):
    """`POST /lots`, as one operation of an import."""

    op: Literal["receive_lot"]
    lot: LotIn


class LogStepOperation(Contract):
    """`POST /steps`, as one operation of an import; later operations may use what earlier ones made."""

    op: Literal["log_step"]
    step: StepIn


ImportOperation = Annotated[ReceiveLotOperation | LogStepOperation, Field(discriminator="op")]


class ImportIn(RootModel[Annotated[list[ImportOperation], Field(min_length=1, max_length=MAX_OPERATIONS)]]):
    """The operations of one import, applied in order and all-or-nothing: a JSON list, or one JSON object per
    line (NDJSON)."""


class ImportOut(BaseModel):
    """What one import did."""

    operations: int
    lots: int
    steps: int
    items_made: int
    events: int = Field(description="audit events appended, the import's own summary event included")
