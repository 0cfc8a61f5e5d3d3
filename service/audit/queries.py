"""Finding audit events: by actor, action, time, entity, or everything in the lineage of an item."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, or_
from sqlmodel import Session, col, select

from service.audit.tables import AuditEventRow
from service.lineage.queries import reachable_items
from service.steps.tables import ItemLink


@dataclass(frozen=True)
class EventFilter:
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    lineage_of: int | None = None  # an item id


def about_records(item_codes: list[str], step_ids: list[int]) -> ColumnElement[bool]:
    """Events whose entity is one of these items or steps."""
    conditions = [
        and_(col(AuditEventRow.entity_type) == "item", col(AuditEventRow.entity_id).in_(item_codes))
    ]
    if step_ids:
        steps = [str(s) for s in step_ids]
        conditions.append(
            and_(col(AuditEventRow.entity_type) == "step", col(AuditEventRow.entity_id).in_(steps))
        )
    return or_(false(), *conditions)


def _lineage_condition(session: Session, item_id: int) -> ColumnElement[bool]:
    """Events of the item, of every item up- and downstream of it, and of the steps linking them."""
    rows = reachable_items(session, item_id, "up", None) + reachable_items(session, item_id, "down", None)
    ids = {r.id for r in rows}
    step_ids = session.exec(
        select(ItemLink.step_id)
        .where(col(ItemLink.child_id).in_(ids), col(ItemLink.parent_id).in_(ids))
        .distinct()
    ).all()
    return about_records(sorted({r.code for r in rows}), list(step_ids))


def events_about(session: Session, item_codes: list[str], step_ids: list[int]) -> list[AuditEventRow]:
    query = select(AuditEventRow).where(about_records(item_codes, step_ids)).order_by(col(AuditEventRow.seq))
    return list(session.exec(query).all())


def list_events(
    session: Session, where: EventFilter, after_seq: int | None, limit: int
) -> list[AuditEventRow]:
    """One page of events in chain order (oldest first), continuing after `after_seq`."""
    query = select(AuditEventRow)
    if where.actor is not None:
        query = query.where(AuditEventRow.actor_name == where.actor)
    if where.action is not None:
        # "item" matches every item.* action; "item.corrected" just that one.
        query = query.where(
            col(AuditEventRow.action) == where.action
            if "." in where.action
            else col(AuditEventRow.action).startswith(where.action + ".", autoescape=True)
        )
    if where.since is not None:
        query = query.where(col(AuditEventRow.at) >= where.since)
    if where.until is not None:
        query = query.where(col(AuditEventRow.at) < where.until)
    if where.entity_type is not None:
        query = query.where(AuditEventRow.entity_type == where.entity_type)
    if where.entity_id is not None:
        query = query.where(AuditEventRow.entity_id == where.entity_id)
    if where.lineage_of is not None:
        query = query.where(_lineage_condition(session, where.lineage_of))
    if after_seq is not None:
        query = query.where(col(AuditEventRow.seq) > after_seq)
    return list(session.exec(query.order_by(col(AuditEventRow.seq)).limit(limit)).all())
