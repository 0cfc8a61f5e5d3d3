"""Tables of instruments, cycler channels and calibration records."""

from datetime import date, datetime

from sqlalchemy import Index, Text, UniqueConstraint, text
from sqlmodel import Column, Field, SQLModel

from service.db import UtcDateTime


class Instrument(SQLModel, table=True):
    __tablename__ = "instruments"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    kind: str = Field(max_length=16, index=True)
    make: str | None = Field(default=None, max_length=200)
    model: str | None = Field(default=None, max_length=200)
    serial: str | None = Field(default=None, max_length=200)
    location: str | None = Field(default=None, max_length=200)
    status: str = Field(default="active", max_length=16)
    void_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    created_by_id: int = Field(foreign_key="users.id")


class Channel(SQLModel, table=True):
    """One channel of a cycler, e.g. NW1-3 for channel 3 of cycler NW1."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("instrument_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    instrument_id: int = Field(foreign_key="instruments.id", index=True)
    number: int


class Calibration(SQLModel, table=True):
    __tablename__ = "calibrations"

    id: int | None = Field(default=None, primary_key=True)
    instrument_id: int = Field(foreign_key="instruments.id", index=True)
    calibrated_on: date
    due_on: date
    by: str = Field(max_length=200)
    certificate_sha256: str | None = Field(default=None, max_length=64)
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    recorded_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    recorded_by_id: int = Field(foreign_key="users.id")
    void_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


# Only the loads still on (not yet unloaded) are unique per channel and per cell: the database, not a check
# in Python, decides which of two racing loads wins.
_ON = text("unloaded_at IS NULL")


class ChannelLoad(SQLModel, table=True):
    """A cell on a channel from `loaded_at` until `unloaded_at` (null while it is still on)."""

    __tablename__ = "channel_loads"
    __table_args__ = (
        Index(
            "uq_channel_loads_channel_on", "channel_id", unique=True, sqlite_where=_ON, postgresql_where=_ON
        ),
        Index("uq_channel_loads_cell_on", "item_id", unique=True, sqlite_where=_ON, postgresql_where=_ON),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channels.id", index=True)
    item_id: int = Field(foreign_key="items.id", index=True)
    protocol: str | None = Field(default=None, max_length=120)
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    loaded_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    loaded_by_id: int = Field(foreign_key="users.id")
    unloaded_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    unloaded_by_id: int | None = Field(default=None, foreign_key="users.id")


class InstrumentUse(SQLModel, table=True):
    """An instrument a test run ran on, with its calibration state at the time the run began."""

    __tablename__ = "instrument_uses"

    id: int | None = Field(default=None, primary_key=True)
    instrument_id: int = Field(foreign_key="instruments.id", index=True)
    channel_id: int | None = Field(default=None, foreign_key="channels.id")
    test_run_id: int = Field(foreign_key="test_runs.id", unique=True)
    item_id: int = Field(foreign_key="items.id")
    used_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    calibration_state: str = Field(max_length=16)
    calibration_due_on: date | None = None
    deviation: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """The written justification for running on an uncalibrated cycler under a protocol demanding one."""


class StepInstrument(SQLModel, table=True):
    """An instrument a step was done with, in a role of its template, with its calibration state that day."""

    __tablename__ = "step_instruments"
    __table_args__ = (UniqueConstraint("step_id", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    step_id: int = Field(foreign_key="steps.id", index=True)
    instrument_id: int = Field(foreign_key="instruments.id", index=True)
    role: str = Field(max_length=64)
    used_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    calibration_state: str = Field(max_length=16)
    calibration_due_on: date | None = None
    deviation: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
