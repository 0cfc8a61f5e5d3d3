"""Keeping the search index current, and ranking the answers.

Every change is audited, so the records a transaction changed are the ones its audit events name: the
index subscribes to every write as a before-commit hook (service.work) and re-reads exactly those records
inside the same transaction. Which kinds of record are searched is the list of sources service.app gives
it; each domain defines its own source (service/search/documents.py says how).
"""

from collections.abc import Sequence

from sqlmodel import Session, col, select

from schemas.search import SearchHit, SearchResults
from service.db import utcnow
from service.search import queries
from service.search.documents import Document, SearchSource
from service.search.tables import SearchDocument
from service.search.text import highlights, index_terms, query_terms, snippet
from service.work import UnitOfWork, insert_queued

CANDIDATES = 200  # matches the engine ranks first, of which the best are re-ranked in Python


class SearchIndex:
    def __init__(self, sources: Sequence[SearchSource]):
        self.sources = {source.kind: source for source in sources}
        self._order = {kind: n for n, kind in enumerate(self.sources)}

    # --- keeping the index current --------------------------------------------------------------------------

    def index_changes(self, session: Session, work: UnitOfWork) -> None:
        """Re-read every record this transaction's audit events are about (before they are chained and
        committed), and write the documents that changed: one read of the stored documents, one INSERT and
        one UPDATE for all."""
        wanted = [(kind, key) for kind, key in work.changed_records() if kind in self.sources]
        if wanted:
            insert_queued(session)  # the documents read what this transaction wrote
            self._write(session, wanted, queries.stored_documents(session, wanted))

    def rebuild(self, session: Session) -> int:
        """Index every record from scratch; returns how many records were read."""
        wanted = [(kind, key) for kind, source in self.sources.items() for key in source.keys(session)]
        self._write(session, wanted, queries.stored_documents(session, wanted))
        session.flush()
        return len(wanted)

    def _write(self, session: Session, wanted: list[tuple[str, str]], stored: dict) -> None:
        documents: list[tuple[str, str, Document | None]] = []
        for kind in dict.fromkeys(kind for kind, _ in wanted):
            keys = [key for k, key in wanted if k == kind]
            read = self.sources[kind].documents(session, keys)
            documents += [(kind, key, read.get(key)) for key in keys]
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

    # --- searching ------------------------------------------------------------------------------------------

    def search(self, session: Session, query: str, kind: str | None, limit: int) -> SearchResults:
        terms = query_terms(query)
        if not terms:
            return SearchResults(query=query, terms=[], hits=[])
        ids = queries.matching_ids(session, terms, kind, CANDIDATES)
        rows = (
            session.exec(select(SearchDocument).where(col(SearchDocument.id).in_(ids))).all() if ids else []
        )
        ranked = sorted(
            ((_score(row, terms), row) for row in rows),
            key=lambda pair: (-pair[0], self._order.get(pair[1].kind, 99), pair[1].key),
        )
        hits = []
        for score, row in ranked[:limit]:
            source = row.text if highlights(row.text, terms) else row.title
            cut, spans = snippet(source, terms)
            known = self.sources.get(row.kind)
            path = known.api_path if known else "/{kind}/{key}"
            hits.append(
                SearchHit(
                    kind=row.kind,
                    key=row.key,
                    title=row.title,
                    status=row.status,
                    snippet=cut,
                    highlights=spans,
                    path=path.format(kind=row.kind, key=row.key),
                    score=score,
                )
            )
        return SearchResults(query=query, terms=terms, hits=hits)


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
