"""Tables of item types, items and item versions."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Text, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from service.db import UtcDateTime


class ItemType(SQLModel, table=True):
    __tablename__ = "item_types"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    kind: str = Field(max_length=8)
    prefix: str = Field(max_length=8, unique=True)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    # The last number handed out for a generated code (PREFIX-0001, ...); bumped atomically.
    last_number: int = 0


class Item(SQLModel, table=True):
    """The current state of a lot, batch or cell; every earlier state is in item_versions."""

    __tablename__ = "items"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=8, index=True)
    type_id: int = Field(foreign_key="item_types.id", index=True)
    name: str | None = Field(default=None, max_length=200)
    status: str = Field(max_length=16, index=True)
    version: int = 1
    # What was received or made, in the unit it was entered in; remaining is kept in that same unit.
    quantity_value: float | None = None
    quantity_unit: str | None = Field(default=None, max_length=64)
    remaining_value: float | None = None
    supplier: str | None = Field(default=None, max_length=200)
    catalog_number: str | None = Field(default=None, max_length=200)
    supplier_lot: str | None = Field(default=None, max_length=200)
    received_on: date | None = None
    expires_on: date | None = None
    properties: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    produced_by_step_id: int | None = Field(default=None, foreign_key="steps.id", index=True)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    created_by_id: int = Field(foreign_key="users.id")
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    void_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ItemVersion(SQLModel, table=True):
    __tablename__ = "item_versions"
    __table_args__ = (UniqueConstraint("item_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="items.id", index=True)
    version: int
    action: str = Field(max_length=32)
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    by_id: int = Field(foreign_key="users.id")
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    state: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
