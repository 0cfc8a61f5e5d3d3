"""An item as a signature binds it: its state as the API shows it, and who created it."""

from sqlmodel import Session

from service.items import logic as items
from service.signatures.logic import Record


def item_record(session: Session, code: str) -> Record:
    item = items.get_item(session, code)
    state = items.item_out(session, item).model_dump(mode="json")
    return Record("item", item.code, item.version, item.created_by_id, state)
