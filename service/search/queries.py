"""The dialect-specific full-text SQL: SQLite FTS5 and PostgreSQL tsvector with a GIN index."""

from typing import Any

from sqlalchemy import text
from sqlmodel import Session

# Created by migration 0006 (and dropped by its downgrade); the tests' reset rebuilds the SQLite index.
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


def include_in_comparison(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic `include_object`: leave the full-text objects, which no model declares, out of comparisons."""
    if type_ == "table" and name is not None and name.startswith("search_fts"):
        return False
    if type_ == "column" and name == "tsv" and getattr(obj.table, "name", None) == "search_documents":
        return False
    return not (type_ == "index" and name == "ix_search_documents_tsv")


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic `include_name`: FTS5's virtual and shadow tables are not reflected at all."""
    return not (type_ == "table" and name is not None and name.startswith("search_fts"))


def rebuild_sqlite_index(connection: Any) -> None:
    """Re-read the FTS5 index from search_documents (after rows changed with the triggers off)."""
    connection.execute(text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))


def matching_ids(session: Session, terms: list[str], kind: str | None, limit: int) -> list[int]:
    """Ids of the documents holding every term (each as a prefix), best first by the engine's own rank."""
    kind_filter = "" if kind is None else "AND d.kind = :kind"
    if session.get_bind().dialect.name == "postgresql":
        sql = f"""
            SELECT d.id FROM search_documents d
            WHERE d.tsv @@ CAST(:query AS tsquery) {kind_filter}
            ORDER BY ts_rank(d.tsv, CAST(:query AS tsquery)) DESC, d.id
            LIMIT :limit
        """
        query = " & ".join(f"'{term}':*" for term in terms)
    else:
        sql = f"""
            SELECT d.id FROM search_fts f JOIN search_documents d ON d.id = f.rowid
            WHERE search_fts MATCH :query {kind_filter}
            ORDER BY bm25(search_fts), d.id
            LIMIT :limit
        """
        query = " AND ".join(f'"{term}"*' for term in terms)
    rows = session.execute(text(sql), {"query": query, "kind": kind, "limit": limit}).all()
    return [row[0] for row in rows]
