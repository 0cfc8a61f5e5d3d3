"""The audit table (append-only, guarded by triggers) and the one-row head of its chain."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Dialect, Index, Text, TypeDecorator
from sqlmodel import Column, Field, SQLModel

from schemas.events import canonical_json
from service.db import UtcDateTime


class CanonicalJSON(TypeDecorator[Any]):
    """JSON stored as its canonical text (sorted keys, no spaces), the very text it has inside the event's
    hashed text: verification then compares the two in SQL, as text."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any]:
        if dialect.name == "postgresql":
            from psycopg.types.json import Json

            # What SQLAlchemy's psycopg dialect does for JSON, with our serialiser.
            return lambda value: Json(value, dumps=canonical_json)
        return canonical_json


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
    data: Any = Field(default=None, sa_column=Column(CanonicalJSON, nullable=True))
    changes: dict[str, Any] | None = Field(default=None, sa_column=Column(CanonicalJSON, nullable=True))
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
