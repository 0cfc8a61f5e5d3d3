"""The table of stored files: one row per distinct content, whatever it was called when uploaded."""

from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from service.db import UtcDateTime


class StoredFile(SQLModel, table=True):
    __tablename__ = "files"

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, unique=True)
    size: int
    media_type: str = Field(max_length=100)
    # The name it first arrived under; the same bytes uploaded again under another name are the same file.
    name: str = Field(max_length=255)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    created_by_id: int = Field(foreign_key="users.id")
