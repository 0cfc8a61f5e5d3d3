"""Listing items: filters and keyset pagination (newest first); the statements every write runs."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from service.items.tables import Item, ItemType, ItemVersion

# Built once: a statement built per call costs more in SQLAlchemy than running it does.
_BY_CODES = select(Item).where(col(Item.code).in_(bindparam("codes", expanding=True)))
_TAKE_NUMBERS = (
    update(ItemType)
    .where(col(ItemType.id) == bindparam("type_id"))
    .values(last_number=col(ItemType.last_number) + bindparam("count"))
    .returning(col(ItemType.last_number))
)
_CODES_TAKEN = sa_select(col(Item.code)).where(col(Item.code).in_(bindparam("codes", expanding=True)))
# The stored state of each item's current version.
_CURRENT_STATES = (
    sa_select(col(ItemVersion.item_id), col(ItemVersion.version), col(ItemVersion.state))
    .join(Item, (col(Item.id) == col(ItemVersion.item_id)) & (col(Item.version) == col(ItemVersion.version)))
    .where(col(ItemVersion.item_id).in_(bindparam("item_ids", expanding=True)))
)


def items_by_code(session: Session, codes: Sequence[str]) -> list[Item]:
    return list(session.exec(_BY_CODES, params={"codes": list(codes)}).all())


def take_numbers(connection: Connection, item_type_id: int, count: int) -> int | None:
    """Bump the type's counter by `count`; the last number taken (None: no such row is visible)."""
    return connection.execute(_TAKE_NUMBERS, {"type_id": item_type_id, "count": count}).scalar_one_or_none()


def take_numbers_apart(engine: Engine, item_type_id: int, count: int) -> int | None:
    """`take_numbers` in a transaction of its own, committed at once: the counter's row lock is held for one
    statement instead of until the caller's commit (PostgreSQL). A lock held longer than a second can only
    be the caller's own transaction's: then None, and the caller counts in its own transaction."""
    with engine.connect() as connection:
        connection.exec_driver_sql("SET LOCAL lock_timeout = '1s'")
        try:
            last = take_numbers(connection, item_type_id, count)
        except OperationalError:
            connection.rollback()
            return None
        connection.commit()
    return last


def codes_taken(session: Session, codes: Sequence[str]) -> set[str]:
    return set(session.connection().execute(_CODES_TAKEN, {"codes": list(codes)}).scalars())


def current_states(session: Session, item_ids: Sequence[int]) -> list[tuple[int, int, dict[str, Any]]]:
    rows = session.connection().execute(_CURRENT_STATES, {"item_ids": list(item_ids)}).all()
    return [(item_id, version, state) for item_id, version, state in rows]


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
