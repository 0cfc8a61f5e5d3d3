"""How test runs become search documents: the cell, the protocol, the file format, the metrics."""

from sqlmodel import Session, select

from service.cycling.tables import TestRun
from service.items.tables import Item
from service.search.documents import Document, SearchSource, lines, one_by_one


def test_run_document(session: Session, key: str) -> Document | None:
    run = session.get(TestRun, int(key)) if key.isdigit() else None
    if run is None:
        return None
    cell = session.get(Item, run.item_id)
    code = cell.code if cell else "?"
    metrics = "; ".join(
        f"{m['name']}: {m['value']} {m['unit']}" for m in run.metrics if m.get("value") is not None
    )
    return Document(
        kind="test_run",
        key=str(run.id),
        title=f"test {run.id} · {code} · {run.protocol}",
        status=run.status,
        text=lines(f"test run of {code}", run.protocol, run.file_format, metrics),
    )


TEST_RUNS = SearchSource(
    kind="test_run",
    api_path="/tests/{key}",
    documents=one_by_one(test_run_document),
    keys=lambda session: (str(i) for i in session.exec(select(TestRun.id)).all()),
)
