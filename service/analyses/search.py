"""How analyses become search documents: technique, title, instrument, subjects, key results, notes."""

from sqlmodel import Session, select

from service.analyses.tables import Analysis, AnalysisSubject
from service.items.tables import Item
from service.search.documents import Document, SearchSource, lines, one_by_one


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
        text=lines(
            analysis.technique,
            analysis.title,
            analysis.instrument,
            "of " + ", ".join(subjects),
            results,
            analysis.notes,
        ),
    )


ANALYSES = SearchSource(
    kind="analysis",
    api_path="/analyses/{key}",
    documents=one_by_one(analysis_document),
    keys=lambda session: (str(i) for i in session.exec(select(Analysis.id)).all()),
)
