"""Tables of analyses, the items they describe, and their files."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Text, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from service.db import UtcDateTime


class Analysis(SQLModel, table=True):
    __tablename__ = "analyses"

    id: int | None = Field(default=None, primary_key=True)
    technique: str = Field(max_length=40, index=True)
    performed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    instrument: str = Field(default="", max_length=200)
    title: str = Field(default="", max_length=200)
    results: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    notes: str = Field(default="", sa_column=Column(Text, nullable=False))
    calculator: str | None = Field(default=None, max_length=40)
    inputs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="recorded", max_length=16)
    void_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    created_by_id: int = Field(foreign_key="users.id")


class AnalysisSubject(SQLModel, table=True):
    __tablename__ = "analysis_subjects"
    __table_args__ = (UniqueConstraint("analysis_id", "item_id"),)

    id: int | None = Field(default=None, primary_key=True)
    analysis_id: int = Field(foreign_key="analyses.id")
    item_id: int = Field(foreign_key="items.id", index=True)


class AnalysisFile(SQLModel, table=True):
    __tablename__ = "analysis_files"
    __table_args__ = (UniqueConstraint("analysis_id", "file_id"),)

    id: int | None = Field(default=None, primary_key=True)
    analysis_id: int = Field(foreign_key="analyses.id")
    file_id: int = Field(foreign_key="files.id", index=True)
    label: str = Field(default="", max_length=200)
