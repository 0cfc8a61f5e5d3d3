"""Stored first answers to POSTs that carried an Idempotency-Key, so a retry gets the same answer."""

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from service.db import UtcDateTime


class IdempotentResponse(SQLModel, table=True):
    __tablename__ = "idempotent_responses"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    key: str = Field(max_length=200)
    fingerprint: str = Field(max_length=64)
    status_code: int
    body: str = Field(sa_column=Column(Text, nullable=False))
    etag: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
