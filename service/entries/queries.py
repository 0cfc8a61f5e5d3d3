"""Listing entries: filters by author, tag, date and linked record; keyset pagination, newest first."""

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from schemas.common import records_by_kind
from service.auth.tables import User
from service.entries.tables import Entry, EntryLink, EntryTag


@dataclass(frozen=True)
class EntryFilter:
    author: str | None = None
    tag: str | None = None
    since: date | None = None
    until: date | None = None
    record: str | None = None  # "item:CC-0001"
    status: str | None = None


def list_entries(session: Session, where: EntryFilter, before_id: int | None, limit: int) -> list[Entry]:
    query = select(Entry)
    if where.author is not None:
        query = query.join(User, col(User.id) == Entry.author_id).where(User.username == where.author)
    if where.tag is not None:
        query = query.where(
            col(Entry.id).in_(select(EntryTag.entry_id).where(EntryTag.tag == where.tag.lower()))
        )
    if where.record is not None:
        record_type, _, record_id = where.record.partition(":")
        query = query.where(
            col(Entry.id).in_(
                select(EntryLink.entry_id).where(
                    EntryLink.record_type == record_type, EntryLink.record_id == record_id
                )
            )
        )
    if where.since is not None:
        query = query.where(col(Entry.entry_date) >= where.since)
    if where.until is not None:
        query = query.where(col(Entry.entry_date) <= where.until)
    if where.status is not None:
        query = query.where(Entry.status == where.status)
    if before_id is not None:
        query = query.where(col(Entry.id) < before_id)
    return list(session.exec(query.order_by(col(Entry.id).desc()).limit(limit)).all())


def entries_about(session: Session, refs: list[str]) -> list[Entry]:
    """The entries linked to any of these records ("item:CC-0001", ...), each once, oldest first: one query
    per kind of record, however many records an export holds."""
    ids: set[int] = set()
    for record_type, record_ids in records_by_kind(refs).items():
        ids |= set(
            session.exec(
                select(EntryLink.entry_id).where(
                    EntryLink.record_type == record_type, col(EntryLink.record_id).in_(record_ids)
                )
            ).all()
        )
    if not ids:
        return []
    return list(session.exec(select(Entry).where(col(Entry.id).in_(ids)).order_by(col(Entry.id))).all())
