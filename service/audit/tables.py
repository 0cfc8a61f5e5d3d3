"""The audit table (append-only, guarded by triggers) and the one-row head of its chain."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Text
from sqlmodel import Column, Field, SQLModel

from service.db import UtcDateTime


class AuditEventRow(SQLModel, table=True):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_entity", "entity_type", "entity_id"),
        Index("ix_audit_events_at", "at"),
    )

    # Assigned by the service from audit_head, never by the database: gapless by construction.
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    actor_id: int | None = Field(default=None, index=True)
    actor_name: str | None = Field(default=None, max_length=64)
    actor_role: str | None = Field(default=None, max_length=16)
    action: str = Field(max_length=64, index=True)
    entity_type: str = Field(max_length=32)
    entity_id: str = Field(max_length=128)
    entity_version: int | None = None
    data: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    changes: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    request_id: str | None = Field(default=None, max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    # The exact text the hash was taken over (schemas.events.canonical_text): exports send it verbatim, and
    # verification checks that the columns above still say the same.
    hashed_text: str = Field(sa_column=Column(Text, nullable=False))


class AuditHead(SQLModel, table=True):
    """The chain's current end. Writers lock this row to append, so parallel writers never fork the chain."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = 0
    hash: str = Field(max_length=64)
