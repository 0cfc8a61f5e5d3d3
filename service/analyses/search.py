"""How analyses become search documents: technique, title, instrument, subjects, key results, notes."""

from collections.abc import Mapping, Sequence

from sqlmodel import Session, col, select

from service.analyses.tables import Analysis, AnalysisSubject
from service.items.tables import Item
from service.search.documents import Document, SearchSource, lines, numeric_keys


def analysis_documents(session: Session, keys: Sequence[str]) -> Mapping[str, Document | None]:
    """The documents of these analyses, in two queries however many an import records at once."""
    ids = numeric_keys(keys)
    analyses = session.exec(select(Analysis).where(col(Analysis.id).in_(ids))).all() if ids else []
    subjects: dict[int, list[str]] = {}
    if ids:
        rows = session.exec(
            select(AnalysisSubject.analysis_id, Item.code)
            .join(Item, col(Item.id) == col(AnalysisSubject.item_id))
            .where(col(AnalysisSubject.analysis_id).in_(ids))
            .order_by(col(AnalysisSubject.id))
        ).all()
        for analysis_id, code in rows:
            subjects.setdefault(analysis_id, []).append(code)
    found: dict[str, Document | None] = dict.fromkeys(keys)
    for analysis in analyses:
        of = subjects.get(analysis.id or 0, [])
        results = "; ".join(f"{r['name']}: {r['value']} {r['unit']}" for r in analysis.results)
        found[str(analysis.id)] = Document(
            kind="analysis",
            key=str(analysis.id),
            title=f"{analysis.technique} · {analysis.title or ', '.join(of)}",
            status=analysis.status,
            text=lines(
                analysis.technique,
                analysis.title,
                analysis.instrument,
                "of " + ", ".join(of),
                results,
                analysis.notes,
            ),
        )
    return found


ANALYSES = SearchSource(
    kind="analysis",
    api_path="/analyses/{key}",
    documents=analysis_documents,
    keys=lambda session: (str(i) for i in session.exec(select(Analysis.id)).all()),
)
