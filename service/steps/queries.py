"""Listing steps: filters and keyset pagination (newest first); taking a step's amounts off its inputs."""

from datetime import datetime
from functools import lru_cache

from sqlalchemy import Float, Integer, Row, String, TextualSelect, bindparam, text
from sqlmodel import Session, col, select

from schemas import ItemStatus
from service.auth.tables import User
from service.db import UtcDateTime
from service.steps.tables import ItemLink, Step


def list_steps(
    session: Session,
    *,
    protocol: str | None,
    item_id: int | None,
    operator: str | None,
    status: str | None,
    before_id: int | None,
    limit: int,
    deviating: bool | None = None,
) -> list[Step]:
    query = select(Step)
    if protocol is not None:
        # "name@2" is one version; a bare "name" means every version of that protocol.
        query = query.where(
            col(Step.protocol) == protocol
            if "@" in protocol
            else col(Step.protocol).startswith(protocol + "@", autoescape=True)
        )
    if item_id is not None:
        touching = select(ItemLink.step_id).where(
            (col(ItemLink.parent_id) == item_id) | (col(ItemLink.child_id) == item_id)
        )
        query = query.where(col(Step.id).in_(touching))
    if operator is not None:
        query = query.join(User).where(User.username == operator)
    if status is not None:
        query = query.where(Step.status == status)
    if deviating is not None:
        query = query.where(col(Step.deviating) == deviating)
    if before_id is not None:
        query = query.where(col(Step.id) < before_id)
    return list(session.exec(query.order_by(col(Step.id).desc()).limit(limit)).all())


@lru_cache(maxsize=64)
def _consume_sql(inputs: int) -> TextualSelect:
    # One guarded UPDATE for all of a step's inputs. A VALUES list names its columns column1..column4 on both
    # SQLite and PostgreSQL: (item id, amount, least acceptable remainder, slack under which it is used up).
    rows = ", ".join(
        f"(CAST(:item_{n} AS INTEGER), CAST(:amount_{n} AS FLOAT), CAST(:least_{n} AS FLOAT), "
        f"CAST(:slack_{n} AS FLOAT))"
        for n in range(inputs)
    )
    left = "items.remaining_value - taken.column2"
    sql = f"""
        UPDATE items SET
            remaining_value = CASE WHEN taken.column4 > {left} THEN 0.0 ELSE {left} END,
            status = CASE WHEN taken.column4 > {left} THEN :consumed ELSE items.status END,
            version = items.version + 1,
            updated_at = :now
        FROM (VALUES {rows}) AS taken
        WHERE items.id = taken.column1
          AND items.remaining_value >= taken.column3
          AND items.status = :released
        RETURNING items.id, items.remaining_value, items.status, items.version, items.updated_at
    """
    return (
        text(sql)
        .bindparams(bindparam("now", type_=UtcDateTime()))
        .columns(id=Integer, remaining_value=Float, status=String, version=Integer, updated_at=UtcDateTime())
    )


def take_amounts(session: Session, amounts: dict[int, tuple[float, float]], now: datetime) -> dict[int, Row]:
    """Take each amount off its item, guarded: an item with less left than `least`, or no longer released,
    is left alone and missing from the answer (item id -> the row as the UPDATE left it). `amounts` maps an
    item id to (amount, slack): what is left below the slack counts as used up."""
    values: dict[str, object] = {
        "now": now,
        "consumed": ItemStatus.consumed.value,
        "released": ItemStatus.released.value,
    }
    for n, (item_id, (amount, slack)) in enumerate(amounts.items()):
        values |= {
            f"item_{n}": item_id,
            f"amount_{n}": amount,
            f"least_{n}": amount - slack,
            f"slack_{n}": slack,
        }
    rows = session.connection().execute(_consume_sql(len(amounts)), values).all()
    return {row.id: row for row in rows}
