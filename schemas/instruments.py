"""Request/response shapes of instruments (cyclers with channels, gloveboxes ...) and calibrations."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from schemas.common import Contract
from schemas.items import ItemCode
from schemas.steps import InstrumentCode, ProtocolRef

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
MAX_CHANNELS = 512


class InstrumentKind(StrEnum):
    cycler = "cycler"
    glovebox = "glovebox"
    balance = "balance"
    oven = "oven"
    coater = "coater"


class CalibrationState(StrEnum):
    in_calibration = "in_calibration"
    due = "due"
    overdue = "overdue"
    never = "never"


class InstrumentIn(Contract):
    """A new instrument; a cycler names how many channels it has (NW1 with 8 gets NW1-1 .. NW1-8)."""

    code: InstrumentCode
    kind: InstrumentKind
    make: Text | None = None
    model: Text | None = None
    serial: Text | None = None
    location: Text | None = None
    channels: Annotated[int, Field(ge=1, le=MAX_CHANNELS)] | None = None

    @model_validator(mode="after")
    def _channels_on_cyclers_only(self) -> "InstrumentIn":
        if self.kind is InstrumentKind.cycler and self.channels is None:
            raise ValueError("a cycler names its number of channels")
        if self.kind is not InstrumentKind.cycler and self.channels is not None:
            raise ValueError("only a cycler has channels")
        return self


class CalibrationIn(Contract):
    """A calibration done: when, when the next is due, by whom, the certificate (a file from POST /files)."""

    calibrated_on: date
    due_on: date
    by: Text
    certificate: Sha256 | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] = ""

    @model_validator(mode="after")
    def _due_after_done(self) -> "CalibrationIn":
        if self.due_on <= self.calibrated_on:
            raise ValueError("due_on must be after calibrated_on")
        return self


class CalibrationOut(Contract):
    id: int
    calibrated_on: date
    due_on: date
    by: str
    certificate: str | None
    note: str
    recorded_at: datetime
    recorded_by: str
    voided: bool
    void_reason: str | None


class InstrumentOut(Contract):
    code: str
    kind: InstrumentKind
    make: str | None
    model: str | None
    serial: str | None
    location: str | None
    status: str
    void_reason: str | None
    channels: list[str]
    calibration_state: CalibrationState
    calibration_due_on: date | None
    created_at: datetime
    created_by: str


Note = Annotated[str, StringConstraints(max_length=2000)]


class LoadIn(Contract):
    """A cell put on a channel: which cell, under which test protocol, and when (default: now)."""

    cell: ItemCode
    protocol: ProtocolRef | None = None
    at: AwareDatetime | None = None
    note: Note = ""


class UnloadIn(Contract):
    """The cell on a channel taken off, when (default: now)."""

    at: AwareDatetime | None = None


class ChannelStatus(StrEnum):
    busy = "busy"
    free = "free"


class ChannelOut(Contract):
    """A channel on the board: the cell on it now and since when, and its cycler's calibration today."""

    code: str
    instrument: str
    number: int
    status: ChannelStatus
    cell: str | None
    protocol: str | None
    since: datetime | None
    calibration_state: CalibrationState
    calibration_due_on: date | None


class LoadOut(Contract):
    """One stay of a cell on a channel; `unloaded_at` is null while the cell is still on it."""

    id: int
    channel: str
    instrument: str
    cell: str
    protocol: str | None
    note: str
    loaded_at: datetime
    loaded_by: str
    unloaded_at: datetime | None
    unloaded_by: str | None


class UseKind(StrEnum):
    test_run = "test_run"
    step = "step"


class ImpactRow(Contract):
    """A test run or step that used the instrument (or a channel of the cycler) while its calibration was
    due, overdue or never done: when, on which channel or in which role, and the state it had then."""

    kind: UseKind
    id: int
    protocol: str
    status: str
    """recorded, or voided (a run or step recorded by mistake still says what the instrument did)."""
    at: datetime
    calibration_state: CalibrationState
    calibration_due_on: date | None
    channel: str | None = None
    role: str | None = None
    cell: str | None = None
    deviation: str | None = None
    """The justification written when the template demanded calibrated equipment."""


class ImpactOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    instrument: str
    kind: InstrumentKind
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None
    uses: list[ImpactRow]
