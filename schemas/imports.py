"""Bulk import: a batch of operations (receive a lot, log a step, record a test run or an analysis) applied
in one transaction."""

from typing import Annotated, Literal

from pydantic import BaseModel, Field, RootModel

from schemas.analyses import AnalysisIn, Sha256
from schemas.common import Contract
from schemas.cycling import TestOptions
from schemas.items import ItemCode, LotIn
from schemas.steps import ProtocolRef, StepIn

MAX_OPERATIONS = 20_000


class ReceiveLotOperation(Contract):
    """`POST /lots`, as one operation of an import."""

    op: Literal["receive_lot"]
    lot: LotIn


class LogStepOperation(Contract):
    """`POST /steps`, as one operation of an import; later operations may use what earlier ones made."""

    op: Literal["log_step"]
    step: StepIn


class TestRunIn(Contract):
    """`POST /items/{cell}/tests` for a cycler file already stored with `POST /files`."""

    __test__ = False  # not a pytest class, whatever its name

    cell: ItemCode
    protocol: ProtocolRef
    file: Sha256
    options: TestOptions = TestOptions()


class RecordTestOperation(Contract):
    """A test run, as one operation of an import: the file is named by its SHA-256, not sent again."""

    op: Literal["record_test"]
    test: TestRunIn


class RecordAnalysisOperation(Contract):
    """`POST /analyses`, as one operation of an import."""

    op: Literal["record_analysis"]
    analysis: AnalysisIn


ImportOperation = Annotated[
    ReceiveLotOperation | LogStepOperation | RecordTestOperation | RecordAnalysisOperation,
    Field(discriminator="op"),
]


class ImportIn(RootModel[Annotated[list[ImportOperation], Field(min_length=1, max_length=MAX_OPERATIONS)]]):
    """The operations of one import, applied in order and all-or-nothing: a JSON list, or one JSON object per
    line (NDJSON)."""


class ImportOut(BaseModel):
    """What one import did."""

    operations: int
    lots: int
    steps: int
    items_made: int
    test_runs: int = 0
    analyses: int = 0
    events: int = Field(description="audit events appended, the import's own summary event included")
