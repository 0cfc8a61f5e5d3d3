"""The signatures table."""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Column, Field, SQLModel

from service.db import UtcDateTime


class Signature(SQLModel, table=True):
    __tablename__ = "signatures"
    __table_args__ = (Index("ix_signatures_record", "record_type", "record_id"),)

    id: int | None = Field(default=None, primary_key=True)
    record_type: str = Field(max_length=16)
    record_id: str = Field(max_length=64)
    record_version: int | None = None
    record_sha256: str = Field(max_length=64)
    meaning: str = Field(max_length=16)
    signer_id: int = Field(foreign_key="users.id")
    signer_name: str = Field(max_length=200)
    signer_role: str = Field(max_length=16)
    signed_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
