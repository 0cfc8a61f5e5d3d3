"""What each kind of record offers to search, keeping the index current, and ranking the answers.

Every change is audited, so the records a transaction changed are the ones its audit events name:
`reindex_pending` re-reads exactly those just before the commit (service.writes), inside the same
transaction. A new kind of record (test runs, analyses) joins by adding one function to DOCUMENTS.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from schemas.search import SearchHit, SearchResults
from service.analyses.tables import Analysis, AnalysisSubject
from service.audit.logic import pending_entities
from service.cycling.tables import TestRun
from service.db import insert_queued, utcnow
from service.entries import logic as entries
from service.entries.tables import Entry
from service.errors import NotFound
from service.items import logic as items
from service.items.tables import Item
from service.search import queries
from service.search.tables import SearchDocument
from service.search.text import fold, highlights, index_terms, query_terms, snippet
from service.steps import logic as steps
from service.steps.tables import Step

CANDIDATES = 200  # matches the engine ranks first, of which the best are re-ranked in Python
# The items being re-indexed, read in one query for all of them (reindex_pending), by code.
_READ_ITEMS = "cellprov_search_items"


@dataclass(frozen=True)
class Document:
    """The searchable text of one record."""

    kind: str
    key: str
    title: str
    status: str | None
    text: str


def _lines(*parts: object) -> str:
    return "\n".join(str(part) for part in parts if part not in (None, "", [], {}))


def _properties(properties: dict[str, object]) -> str:
    shown = []
    for name, value in properties.items():
        if isinstance(value, dict) and {"value", "unit"} <= set(value):
            value = f"{value['value']} {value['unit']}"
        shown.append(f"{name}: {value}")
    return "; ".join(shown)


def item_document(session: Session, code: str) -> Document | None:
    read: dict[str, Item] = session.info.get(_READ_ITEMS, {})
    item = items.recorded_now(session, code) or read.get(code)
    if item is None:
        try:
            item = items.get_item(session, code)
        except NotFound:
            return None
    shown = items.item_out(session, item)
    return Document(
        kind="item",
        key=item.code,
        title=" · ".join(part for part in (item.code, shown.type, item.name) if part),
        status=item.status,
        text=_lines(
            f"{shown.kind} {shown.type}",
            item.name,
            item.supplier and f"supplier {item.supplier}",
            item.catalog_number and f"catalogue number {item.catalog_number}",
            item.supplier_lot and f"supplier lot {item.supplier_lot}",
            _properties(item.properties),
            item.void_reason and f"voided: {item.void_reason}",
        ),
    )


def step_document(session: Session, key: str) -> Document | None:
    shown = steps.logged_now(session, int(key)) if key.isdigit() else None
    if shown is None:
        step = session.get(Step, int(key)) if key.isdigit() else None
        if step is None:
            return None
        shown = steps.step_out(session, step)
    parameters = _properties(
        {name: steps.stored_parameter(value) for name, value in shown.parameters.items()}
    )
    return Document(
        kind="step",
        key=str(shown.id),
        title=f"step {shown.id} · {shown.protocol}",
        status=shown.status,
        text=_lines(
            shown.notes,
            parameters,
            "inputs: " + ", ".join(f"{i.item.code} ({i.role})" for i in shown.inputs)
            if shown.inputs
            else None,
            "outputs: " + ", ".join(o.code for o in shown.outputs),
            f"operator {shown.operator}",
            shown.void_reason and f"voided: {shown.void_reason}",
        ),
    )


def entry_document(session: Session, key: str) -> Document | None:
    entry = session.get(Entry, int(key)) if key.isdigit() else None
    if entry is None:
        return None
    shown = entries.entry_out(session, entry)
    return Document(
        kind="entry",
        key=str(entry.id),
        title=entry.title,
        status=entry.status,
        text=_lines(
            entry.body,
            "tags: " + ", ".join(shown.tags) if shown.tags else None,
            "about: " + ", ".join(link.partition(":")[2] for link in shown.links) if shown.links else None,
            "files: " + ", ".join(a.name for a in shown.attachments) if shown.attachments else None,
            f"by {shown.author_name} ({shown.author})",
        ),
    )


def test_run_document(session: Session, key: str) -> Document | None:
    run = session.get(TestRun, int(key)) if key.isdigit() else None
    if run is None:
        return None
    cell = session.get(Item, run.item_id)
    metrics = "; ".join(
        f"{m['name']}: {m['value']} {m['unit']}" for m in run.metrics if m.get("value") is not None
    )
    return Document(
        kind="test_run",
        key=str(run.id),
        title=f"test {run.id} · {cell.code if cell else '?'} · {run.protocol}",
        status=run.status,
        text=_lines(f"test run of {cell.code if cell else '?'}", run.protocol, run.file_format, metrics),
    )


def analysis_document(session: Session, key: str) -> Document | None:
    analysis = session.get(Analysis, int(key)) if key.isdigit() else None
    if analysis is None:
        return None
    subjects = session.exec(
        select(Item.code).join(AnalysisSubject).where(AnalysisSubject.analysis_id == analysis.id)
    ).all()
    results = "; ".join(f"{r['name']}: {r['value']} {r['unit']}" for r in analysis.results)
    return Document(
        kind="analysis",
        key=str(analysis.id),
        title=f"{analysis.technique} · {analysis.title or ', '.join(subjects)}",
        status=analysis.status,
        text=_lines(
            analysis.technique,
            analysis.title,
            analysis.instrument,
            "of " + ", ".join(subjects),
            results,
            analysis.notes,
        ),
    )


# One function per kind of record: the record's searchable text, or None once it no longer exists.
DOCUMENTS: dict[str, Callable[[Session, str], Document | None]] = {
    "item": item_document,
    "step": step_document,
    "entry": entry_document,
    "test_run": test_run_document,
    "analysis": analysis_document,
}
API_PATHS = {
    "item": "/items/{key}",
    "step": "/steps/{key}",
    "entry": "/entries/{key}",
    "test_run": "/tests/{key}",
    "analysis": "/analyses/{key}",
}
KIND_ORDER = {kind: n for n, kind in enumerate(DOCUMENTS)}


def _all_keys(session: Session) -> dict[str, Iterable[str]]:
    return {
        "item": session.exec(select(Item.code)).all(),
        "step": (str(i) for i in session.exec(select(Step.id)).all()),
        "entry": (str(i) for i in session.exec(select(Entry.id)).all()),
        "test_run": (str(i) for i in session.exec(select(TestRun.id)).all()),
        "analysis": (str(i) for i in session.exec(select(Analysis.id)).all()),
    }


# --- keeping the index current ------------------------------------------------------------------------------


def reindex(session: Session, kind: str, key: str) -> None:
    document = DOCUMENTS[kind](session, key)
    row = session.exec(
        select(SearchDocument).where(SearchDocument.kind == kind, SearchDocument.key == key)
    ).first()
    if document is None:
        if row is not None:
            session.delete(row)
        return
    terms = " ".join(index_terms(f"{document.title}\n{document.text}"))
    if row is None:
        row = SearchDocument(kind=kind, key=key, title="", text="", terms="", updated_at=utcnow())
    row.title, row.status, row.text = document.title[:300], document.status, document.text
    row.terms, row.updated_at = terms, utcnow()
    session.add(row)


def reindex_pending(session: Session) -> None:
    """Re-read every record the session's audit events are about (before they are chained and committed), and
    write the documents that changed: one read of the stored documents, one INSERT and one UPDATE for all."""
    wanted = [(kind, key) for kind, key in dict.fromkeys(pending_entities(session)) if kind in DOCUMENTS]
    if not wanted:
        return
    insert_queued(session)  # the documents read what this transaction wrote
    stored = queries.stored_documents(session, wanted)
    unread = [key for kind, key in wanted if kind == "item" and items.recorded_now(session, key) is None]
    session.info[_READ_ITEMS] = queries.items_by_code(session, unread)
    try:
        documents = [(kind, key, DOCUMENTS[kind](session, key)) for kind, key in wanted]
    finally:
        session.info.pop(_READ_ITEMS)
    now = utcnow()
    added, changed, gone = [], [], []
    for kind, key, document in documents:
        row = stored.get((kind, key))
        if document is None:
            if row is not None:
                gone.append(row.id)
            continue
        values = {
            "title": document.title[:300],
            "status": document.status,
            "text": document.text,
            "terms": " ".join(index_terms(f"{document.title}\n{document.text}")),
        }
        if row is None:
            added.append({"kind": kind, "key": key, **values, "updated_at": now})
        elif values != {name: getattr(row, name) for name in values}:
            changed.append({"document_id": row.id, **values, "updated_at": now})
    queries.write_documents(session, added, changed, gone)


def rebuild(session: Session) -> int:
    """Index every record from scratch (migration 0006 runs this on an existing database)."""
    count = 0
    for kind, keys in _all_keys(session).items():
        for key in list(keys):
            reindex(session, kind, key)
            count += 1
    session.flush()
    return count


# --- searching ----------------------------------------------------------------------------------------------


def _score(row: SearchDocument, terms: list[str]) -> float:
    """Deterministic, and the same on both databases: a whole code beats a title word beats body text."""
    key = "".join(index_terms(row.key)[-1:])
    title_terms = set(index_terms(row.title))
    text_terms = index_terms(row.text)
    score = 0.0
    for term in terms:
        if key == term:
            score += 100
        if term in title_terms:
            score += 10
        elif any(t.startswith(term) for t in title_terms):
            score += 5
        score += 3 * text_terms.count(term) if term in text_terms else 0
        score += sum(1 for t in text_terms if t.startswith(term) and t != term)
    return score


def search(session: Session, query: str, kind: str | None, limit: int) -> SearchResults:
    terms = query_terms(query)
    if not terms:
        return SearchResults(query=query, terms=[], hits=[])
    ids = queries.matching_ids(session, terms, kind, CANDIDATES)
    rows = session.exec(select(SearchDocument).where(col(SearchDocument.id).in_(ids))).all() if ids else []
    ranked = sorted(
        ((_score(row, terms), row) for row in rows),
        key=lambda pair: (-pair[0], KIND_ORDER.get(pair[1].kind, 99), pair[1].key),
    )
    hits = []
    for score, row in ranked[:limit]:
        source = row.text if highlights(row.text, terms) else row.title
        cut, spans = snippet(source, terms)
        hits.append(
            SearchHit(
                kind=row.kind,
                key=row.key,
                title=row.title,
                status=row.status,
                snippet=cut,
                highlights=spans,
                path=API_PATHS.get(row.kind, "/{kind}/{key}").format(kind=row.kind, key=row.key),
                score=score,
            )
        )
    return SearchResults(query=query, terms=terms, hits=hits)


__all__ = ["DOCUMENTS", "fold", "rebuild", "reindex", "reindex_pending", "search"]
