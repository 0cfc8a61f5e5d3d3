"""Listing items: filters and keyset pagination (newest first)."""

from sqlalchemy import or_
from sqlmodel import Session, col, select

from service.items.tables import Item, ItemType


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_items(
    session: Session,
    *,
    kind: str | None,
    type_name: str | None,
    status: str | None,
    q: str | None,
    before_id: int | None,
    limit: int,
) -> list[Item]:
    """One page of items, newest first; `before_id` is the last id of the previous page."""
    query = select(Item)
    if type_name is not None:
        query = query.join(ItemType).where(ItemType.name == type_name)
    if kind is not None:
        query = query.where(Item.kind == kind)
    if status is not None:
        query = query.where(Item.status == status)
    if q:
        pattern = _like(q)
        query = query.where(
            or_(
                col(Item.code).ilike(pattern, escape="\\"),
                col(Item.name).ilike(pattern, escape="\\"),
                col(Item.supplier_lot).ilike(pattern, escape="\\"),
            )
        )
    if before_id is not None:
        query = query.where(col(Item.id) < before_id)
    return list(session.exec(query.order_by(col(Item.id).desc()).limit(limit)).all())
