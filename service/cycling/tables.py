"""Tables of test runs and their per-cycle rows."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Text, UniqueConstraint
from sqlalchemy import text as sa_text
from sqlalchemy import true as sa_true
from sqlmodel import Column, Field, SQLModel

from service.db import UtcDateTime


class TestRun(SQLModel, table=True):
    __test__ = False  # not a pytest class, whatever its name
    __tablename__ = "test_runs"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="items.id", index=True)
    protocol: str = Field(max_length=120, index=True)
    kind: str = Field(max_length=16)
    status: str = Field(default="recorded", max_length=16)
    void_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    file_id: int = Field(foreign_key="files.id", index=True)
    file_format: str = Field(max_length=32)
    parser: str = Field(max_length=64)
    parser_version: str = Field(max_length=32)
    active_mass_g: float | None = None
    leading: str | None = Field(default=None, max_length=16)
    record_count: int
    cycle_count: int
    duration_s: float
    metrics: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    options: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    notes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    warnings: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default=sa_text("'[]'"))
    )
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    created_by_id: int = Field(foreign_key="users.id")


class TestCycle(SQLModel, table=True):
    __test__ = False  # not a pytest class, whatever its name
    __tablename__ = "test_cycles"
    __table_args__ = (UniqueConstraint("test_run_id", "cycle"),)

    id: int | None = Field(default=None, primary_key=True)
    test_run_id: int = Field(foreign_key="test_runs.id")
    cycle: int
    hw_cycle: int | None = None
    start_s: float
    duration_s: float
    charge_mAh: float
    discharge_mAh: float
    charge_mWh: float
    discharge_mWh: float
    mean_charge_V: float | None = None
    mean_discharge_V: float | None = None
    ce_pct: float | None = None
    max_abs_voltage_V: float
    complete: bool = Field(default=True, sa_column_kwargs={"server_default": sa_true()})
    flag: str | None = Field(default=None, max_length=200)
