"""The notebook: entries (versions, links, tags, attachments) and the full-text search index.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The full-text objects as this revision makes them (SQL kept here, so the revision never changes meaning).
SQLITE_SCHEMA = [
    # External content: the index keeps only the terms' postings, the text stays in search_documents.
    """CREATE VIRTUAL TABLE search_fts USING fts5(terms, content='search_documents', content_rowid='id',
           tokenize='unicode61 remove_diacritics 0')""",
    """CREATE TRIGGER search_documents_fts_insert AFTER INSERT ON search_documents BEGIN
           INSERT INTO search_fts(rowid, terms) VALUES (new.id, new.terms); END""",
    """CREATE TRIGGER search_documents_fts_delete AFTER DELETE ON search_documents BEGIN
           INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.id, old.terms); END""",
    """CREATE TRIGGER search_documents_fts_update AFTER UPDATE ON search_documents BEGIN
           INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.id, old.terms);
           INSERT INTO search_fts(rowid, terms) VALUES (new.id, new.terms); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS search_documents_fts_update",
    "DROP TRIGGER IF EXISTS search_documents_fts_delete",
    "DROP TRIGGER IF EXISTS search_documents_fts_insert",
    "DROP TABLE IF EXISTS search_fts",
]
POSTGRESQL_SCHEMA = [
    # Our terms are taken as lexemes verbatim: no parser, no stemming, the same words FTS5 indexes.
    """ALTER TABLE search_documents ADD COLUMN tsv tsvector
           GENERATED ALWAYS AS (array_to_tsvector(string_to_array(terms, ' '))) STORED""",
    "CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (tsv)",
]
POSTGRESQL_DROP = [
    "DROP INDEX IF EXISTS ix_search_documents_tsv",
    "ALTER TABLE search_documents DROP COLUMN IF EXISTS tsv",
]


def upgrade() -> None:
    op.create_table(
        "entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", service.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", service.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entries_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_entries_entry_date"), ["entry_date"], unique=False)

    op.create_table(
        "entry_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("record_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("record_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["entries.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entry_id", "record_type", "record_id"),
    )
    with op.batch_alter_table("entry_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entry_links_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index("ix_entry_links_record", ["record_type", "record_id"], unique=False)

    op.create_table(
        "entry_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("tag", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["entries.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entry_id", "tag"),
    )
    with op.batch_alter_table("entry_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entry_tags_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_entry_tags_tag"), ["tag"], unique=False)

    op.create_table(
        "entry_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("media_type", sqlmodel.sql.sqltypes.AutoString(length=127), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["entries.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("entry_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entry_attachments_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_entry_attachments_sha256"), ["sha256"], unique=False)

    op.create_table(
        "entry_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("at", service.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["entry_id"], ["entries.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entry_id", "version"),
    )
    with op.batch_alter_table("entry_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entry_versions_entry_id"), ["entry_id"], unique=False)

    op.create_table(
        "search_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("updated_at", service.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "key"),
    )
    dialect = op.get_bind().dialect.name
    for statement in POSTGRESQL_SCHEMA if dialect == "postgresql" else SQLITE_SCHEMA:
        op.execute(statement)

    # The index of what the database already holds is built by the service at its next start
    # (service.bootstrap.prepare), with the search sources of that release: derived data, never frozen here.


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in POSTGRESQL_DROP if dialect == "postgresql" else SQLITE_DROP:
        op.execute(statement)
    op.drop_table("search_documents")
    with op.batch_alter_table("entry_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entry_versions_entry_id"))
    op.drop_table("entry_versions")
    with op.batch_alter_table("entry_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entry_attachments_sha256"))
        batch_op.drop_index(batch_op.f("ix_entry_attachments_entry_id"))
    op.drop_table("entry_attachments")
    with op.batch_alter_table("entry_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entry_tags_tag"))
        batch_op.drop_index(batch_op.f("ix_entry_tags_entry_id"))
    op.drop_table("entry_tags")
    with op.batch_alter_table("entry_links", schema=None) as batch_op:
        batch_op.drop_index("ix_entry_links_record")
        batch_op.drop_index(batch_op.f("ix_entry_links_entry_id"))
    op.drop_table("entry_links")
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entries_entry_date"))
        batch_op.drop_index(batch_op.f("ix_entries_author_id"))
    op.drop_table("entries")
