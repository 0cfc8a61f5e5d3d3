"""How items become search documents: code, type and name, supplier and lot numbers, properties."""

from collections.abc import Sequence

from sqlmodel import Session, select

from service.items import logic as items
from service.items import queries
from service.items.tables import Item
from service.search.documents import Document, SearchSource, lines, properties_text

CHUNK = 2000


def _document(session: Session, item: Item) -> Document:
    shown = items.item_out(session, item)
    return Document(
        kind="item",
        key=item.code,
        title=" · ".join(part for part in (item.code, shown.type, item.name) if part),
        status=item.status,
        text=lines(
            f"{shown.kind} {shown.type}",
            item.name,
            item.supplier and f"supplier {item.supplier}",
            item.catalog_number and f"catalogue number {item.catalog_number}",
            item.supplier_lot and f"supplier lot {item.supplier_lot}",
            properties_text(item.properties),
            item.void_reason and f"voided: {item.void_reason}",
        ),
    )


def item_documents(session: Session, codes: Sequence[str]) -> dict[str, Document | None]:
    """Items this transaction changed as it holds them; the others read in one query per chunk."""
    found = {code: items.recorded_now(session, code) for code in codes}
    unread = [code for code, item in found.items() if item is None]
    for start in range(0, len(unread), CHUNK):
        for item in queries.items_by_code(session, unread[start : start + CHUNK]):
            found[item.code] = item
    return {code: None if item is None else _document(session, item) for code, item in found.items()}


ITEMS = SearchSource(
    kind="item",
    api_path="/items/{key}",
    documents=item_documents,
    keys=lambda session: session.exec(select(Item.code)).all(),
)
