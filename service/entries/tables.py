"""Tables of notebook entries, their versions, links, tags and attachments."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Index, Text, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from service.db import UtcDateTime


class Entry(SQLModel, table=True):
    """The current state of an entry; every earlier state is in entry_versions."""

    __tablename__ = "entries"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    entry_date: date = Field(index=True)
    status: str = Field(default="active", max_length=16)
    version: int = 1
    author_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    void_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class EntryLink(SQLModel, table=True):
    """The entry is about this record ("item", "CC-0001"); rewritten with each version of the entry."""

    __tablename__ = "entry_links"
    __table_args__ = (
        UniqueConstraint("entry_id", "record_type", "record_id"),
        Index("ix_entry_links_record", "record_type", "record_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="entries.id", index=True)
    record_type: str = Field(max_length=32)
    record_id: str = Field(max_length=64)


class EntryTag(SQLModel, table=True):
    __tablename__ = "entry_tags"
    __table_args__ = (UniqueConstraint("entry_id", "tag"),)

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="entries.id", index=True)
    tag: str = Field(max_length=50, index=True)


class EntryAttachment(SQLModel, table=True):
    """A file attached to the entry, by the SHA-256 of its content in the file store."""

    __tablename__ = "entry_attachments"

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="entries.id", index=True)
    sha256: str = Field(max_length=64, index=True)
    name: str = Field(max_length=255)
    media_type: str = Field(max_length=127)
    size: int


class EntryVersion(SQLModel, table=True):
    __tablename__ = "entry_versions"
    __table_args__ = (UniqueConstraint("entry_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="entries.id", index=True)
    version: int
    action: str = Field(max_length=32)
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    by_id: int = Field(foreign_key="users.id")
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    state: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
