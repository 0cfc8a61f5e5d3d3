"""The table of protocol template versions: one row per name@version, its definition kept as JSON."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Text, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from service.db import UtcDateTime


class Template(SQLModel, table=True):
    """A published template version. The definition never changes after insert: a change is a new version;
    only the status moves from published to retired."""

    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, index=True)
    version: int
    title: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    status: str = Field(max_length=16)
    definition: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    retired_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    retired_by_id: int | None = Field(default=None, foreign_key="users.id")
    retire_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
