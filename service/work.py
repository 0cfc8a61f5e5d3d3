"""The unit of work: what one transaction has done so far, in one typed object per session.

Every session the service opens is a `WorkSession` (service.db.open_session makes them) and carries its
`UnitOfWork`; domain code reaches it by `work_of(session)`, the one way to it. It holds the audit events the
transaction noted, the rows queued for one INSERT per table, what it has read or changed that later code in
the same transaction asks for again, and the hooks that run just before it commits (search subscribes there).
A rollback resets it, so nothing a failed transaction noted survives into the next one; nothing in it
outlives the session, so no other process can hold a stale copy.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine, Table, insert
from sqlmodel import Session


class Actor(Protocol):
    """Whoever a change is attributed to (a user of service.auth), as the audit trail names them."""

    id: int | None
    username: str
    role: str


# Something that runs inside the transaction just before it commits, seeing what it did.
BeforeCommit = Callable[[Session, "UnitOfWork"], None]


@dataclass(frozen=True)
class NotedEvent:
    """An audit event as a change notes it; service.audit chains it when the transaction commits."""

    action: str
    entity_type: str
    entity_id: str
    entity_version: int | None
    data: Any
    changes: dict[str, Any] | None
    reason: str | None


@dataclass
class UnitOfWork:
    before_commit: Sequence[BeforeCommit] = ()

    # The audit events noted for this transaction, chained at commit (service.audit.logic).
    events: list[NotedEvent] = field(default_factory=list)
    actor: Actor | None = None
    request_id: str | None = None
    # Rows nothing in the transaction reads back, written with one INSERT per table (insert_later).
    queued: dict[Table, list[dict[str, Any]]] = field(default_factory=dict)

    # What the transaction changed, as it is now: items by code, steps as log_step showed them, by id.
    items_changed: dict[str, Any] = field(default_factory=dict)
    steps_logged: dict[int, Any] = field(default_factory=dict)
    # Read once per transaction, since a step or an import asks for the same few again and again.
    item_types: dict[int | str, Any] | None = None
    item_states: dict[int, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    usernames: dict[int, str] = field(default_factory=dict)
    templates: dict[str, Any] = field(default_factory=dict)
    ancestors: dict[int, dict[int, int]] = field(default_factory=dict)
    # Item types whose code counter this transaction bumped itself, and so holds locked (service.items).
    counters_held: set[int] = field(default_factory=set)

    def changed_records(self) -> list[tuple[str, str]]:
        """The records this transaction's audit events are about, each once, in order."""
        return list(dict.fromkeys((event.entity_type, event.entity_id) for event in self.events))

    def attribute_to(self, actor: Actor | None, request_id: str | None) -> None:
        """Whom the events of this transaction name as their actor, and the request that made them."""
        self.actor, self.request_id = actor, request_id

    def reset(self) -> None:
        """Forget everything but the hooks: the transaction it described is gone."""
        fresh = UnitOfWork(self.before_commit)
        self.__dict__.update(fresh.__dict__)


class WorkSession(Session):
    """A session with its unit of work. Commit writes the queued rows first; rollback resets the work."""

    def __init__(self, bind: Engine, before_commit: Sequence[BeforeCommit] = ()) -> None:
        super().__init__(bind, expire_on_commit=False)
        self.work = UnitOfWork(before_commit)

    def commit(self) -> None:
        if self.work.events:
            # An event noted but never chained would be a change the audit trail does not show.
            raise RuntimeError("audit events were noted but not chained: commit through service.writes")
        insert_queued(self)  # whoever commits without service.writes (setup, scripts) loses no queued row
        super().commit()

    def rollback(self) -> None:
        super().rollback()
        self.work.reset()

    def close(self) -> None:
        super().close()
        self.work.reset()


def work_of(session: Session) -> UnitOfWork:
    if not isinstance(session, WorkSession):
        raise TypeError("open sessions with service.db.open_session: only they carry a unit of work")
    return session.work


def note_event(
    session: Session,
    action: str,
    entity_type: str,
    entity_id: str | int,
    *,
    version: int | None = None,
    data: Any = None,
    changes: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """Note an audit event for the change being made in this transaction. It is chained when the
    transaction commits (the audit trail's before-commit hook), so a change that rolls back leaves none."""
    work_of(session).events.append(
        NotedEvent(action, entity_type, str(entity_id), version, data, changes, reason)
    )


def run_before_commit(session: Session) -> None:
    """The hooks of this transaction, in order, with what it did (service.writes calls this)."""
    work = work_of(session)
    for hook in work.before_commit:
        hook(session, work)


def insert_later(session: Session, table: Any, row: dict[str, Any]) -> None:
    """Queue a row that nothing in this transaction reads back (a version, a link, a closure pair): the rows
    of a request, or of a whole import, go in with one INSERT per table instead of one per row."""
    work_of(session).queued.setdefault(table.__table__, []).append(row)


def insert_queued(session: Session) -> None:
    """Write the queued rows now (before the commit, or before a read of their tables)."""
    work = work_of(session)
    queued, work.queued = work.queued, {}
    if queued:
        session.flush()  # the rows they refer to first
    for table, rows in queued.items():
        session.execute(insert(table), rows)
