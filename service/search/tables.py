"""The searchable text of every record, one row per record, kept current in the write transaction.

The full-text index over `terms` lives outside SQLModel's metadata because it is dialect-specific: an FTS5
virtual table (`search_fts`, kept in step by triggers) on SQLite, a generated `tsv` column with a GIN index on
PostgreSQL. Migration 0006 creates both; service.search.queries.include_in_comparison hides them from
Alembic's model comparison.
"""

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from service.db import UtcDateTime


class SearchDocument(SQLModel, table=True):
    __tablename__ = "search_documents"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    key: str = Field(max_length=64)
    title: str = Field(max_length=300)
    status: str | None = Field(default=None, max_length=16)
    text: str = Field(sa_column=Column(Text, nullable=False))  # what snippets are cut from
    terms: str = Field(sa_column=Column(Text, nullable=False))  # normalised tokens: what is indexed
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
