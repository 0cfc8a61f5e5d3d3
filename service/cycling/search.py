"""How test runs become search documents: the cell, the protocol, the file format, the metrics."""

from collections.abc import Mapping, Sequence

from sqlmodel import Session, col, select

from service.cycling.tables import TestRun
from service.items.tables import Item
from service.search.documents import Document, SearchSource, lines, numeric_keys


def test_run_documents(session: Session, keys: Sequence[str]) -> Mapping[str, Document | None]:
    """The documents of these test runs, with their cells' codes, in one query."""
    ids = numeric_keys(keys)
    rows = (
        session.exec(
            select(TestRun, Item.code)
            .join(Item, col(Item.id) == col(TestRun.item_id))
            .where(col(TestRun.id).in_(ids))
        ).all()
        if ids
        else []
    )
    found: dict[str, Document | None] = dict.fromkeys(keys)
    for run, code in rows:
        metrics = "; ".join(
            f"{m['name']}: {m['value']} {m['unit']}" for m in run.metrics if m.get("value") is not None
        )
        found[str(run.id)] = Document(
            kind="test_run",
            key=str(run.id),
            title=f"test {run.id} · {code} · {run.protocol}",
            status=run.status,
            text=lines(f"test run of {code}", run.protocol, run.file_format, metrics),
        )
    return found


TEST_RUNS = SearchSource(
    kind="test_run",
    api_path="/tests/{key}",
    documents=test_run_documents,
    keys=lambda session: (str(i) for i in session.exec(select(TestRun.id)).all()),
)
