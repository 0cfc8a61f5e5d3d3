"""The dialect-specific full-text SQL: SQLite FTS5 and PostgreSQL tsvector with a GIN index."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, bindparam, delete, insert, text, update
from sqlalchemy import select as sa_select
from sqlmodel import Session

from service.search.tables import SearchDocument

# Key lists go to the database in chunks: SQLite takes at most 32,766 bound values per statement.
CHUNK = 2000


# The full-text objects (search_fts; the tsv column and its index) are made by migration 0006; the tests'
# reset rebuilds the SQLite index.


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


_DOCUMENTS = SearchDocument.__table__  # type: ignore[attr-defined]
# Kinds and keys as two IN lists: the (kind, key) index serves both on either database, where a row-value IN
# of pairs makes SQLite scan every document. A pair asked for by neither list is dropped afterwards.
_STORED = sa_select(
    *[_DOCUMENTS.c[name] for name in ("id", "kind", "key", "title", "status", "text", "terms")]
).where(
    _DOCUMENTS.c.kind.in_(bindparam("kinds", expanding=True)),
    _DOCUMENTS.c.key.in_(bindparam("keys", expanding=True)),
)


def stored_documents(session: Session, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Row]:
    """The stored documents of these (kind, key) pairs, as plain rows."""
    wanted = set(keys)
    found = {}
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        values = {"kinds": sorted({kind for kind, _ in chunk}), "keys": [key for _, key in chunk]}
        for row in session.connection().execute(_STORED, values).all():
            if (row.kind, row.key) in wanted:
                found[(row.kind, row.key)] = row
    return found


def write_documents(
    session: Session, added: list[dict[str, Any]], changed: list[dict[str, Any]], gone: list[int]
) -> None:
    """New documents in one INSERT, changed ones in one UPDATE by id; those whose record is gone deleted."""
    table = _DOCUMENTS
    if added:
        session.execute(insert(table), added)
    if changed:
        # The SET clause is every column the rows name; document_id only picks the row.
        session.execute(update(table).where(table.c.id == bindparam("document_id")), changed)
    if gone:
        session.execute(delete(table).where(table.c.id.in_(gone)))
