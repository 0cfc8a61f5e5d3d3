"""Recording audit events with the change they describe, appending them to the chain, verifying it."""

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Engine, Row, bindparam, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from schemas.events import GENESIS_HASH, AuditEvent, ChainCheck, ChainVerifier, canonical_text
from service.audit.queries import CHAIN_CHECKED_IN_DATABASE, chain_batch_sql
from service.audit.tables import AuditEventRow, AuditHead
from service.db import open_session, utcnow
from service.work import Actor, NotedEvent, UnitOfWork, note_event, work_of

_EVENTS = AuditEventRow.__table__  # type: ignore[attr-defined]
_HEAD = AuditHead.__table__  # type: ignore[attr-defined]
_HEAD_FOR_UPDATE = sa_select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("seq"), hash=bindparam("hash"))

VERIFY_BATCH = 5000
DATABASE_BATCH = 20_000  # events PostgreSQL checks per statement (it answers with one row)
EVENT_FIELDS = list(AuditEvent.model_fields)  # in the model's order, the hash last


def pending_count(session: Session) -> int:
    """How many events this session has noted and not yet chained."""
    return len(work_of(session).events)


def record_now(
    engine: Engine,
    actor: Actor | None,
    request_id: str | None,
    action: str,
    entity_type: str,
    entity_id: str,
    *,
    data: Any = None,
    reason: str | None = None,
) -> None:
    """An event that must be kept although the request itself fails (a refused token, a wrong password)."""
    with open_session(engine, write=True) as session:
        work_of(session).attribute_to(actor, request_id)
        note_event(session, action, entity_type, entity_id, data=data, reason=reason)
        append_pending(session)
        session.commit()


def chain_noted(session: Session, work: UnitOfWork) -> None:
    """The trail's before-commit hook (service.app): chain what the transaction noted, last of all."""
    append_pending(session)


def append_pending(session: Session) -> int:
    """Chain the session's noted events, just before commit. Taking the head row's lock last keeps the
    time it is held short and means no writer ever waits on another while holding it."""
    work = work_of(session)
    pending: list[NotedEvent] = work.events
    work.events = []
    if not pending:
        return 0
    actor, request_id = work.actor, work.request_id
    session.flush()  # the change itself first: nothing but the chain's own rows waits under the head's lock
    connection = session.connection()
    head = connection.execute(_HEAD_FOR_UPDATE).first()
    if head is None:  # the very first event of this database
        connection.execute(insert(_HEAD), {"id": 1, "seq": 0, "hash": GENESIS_HASH})
        seq, prev_hash = 0, GENESIS_HASH
    else:
        seq, prev_hash = head.seq, head.hash
    at = utcnow()
    actor_fields = {
        "actor_id": actor.id if actor else None,
        "actor_name": actor.username if actor else None,
        "actor_role": actor.role if actor else None,
    }
    rows = []
    for note in pending:
        seq += 1
        # The fields of an AuditEvent, as plain values: hashed and inserted without a model per event.
        fields = {
            "seq": seq,
            "at": at,
            **actor_fields,
            "action": note.action,
            "entity_type": note.entity_type,
            "entity_id": note.entity_id,
            "entity_version": note.entity_version,
            "data": note.data,
            "changes": note.changes,
            "reason": note.reason,
            "request_id": request_id,
            "prev_hash": prev_hash,
        }
        hashed_text = canonical_text(fields)
        prev_hash = hashlib.sha256(hashed_text.encode()).hexdigest()
        rows.append({**fields, "hash": prev_hash, "hashed_text": hashed_text})
    # Core statements: the ORM's bulk-insert machinery cost more than the rows themselves.
    connection.execute(insert(_EVENTS), rows)
    connection.execute(_MOVE_HEAD, {"seq": seq, "hash": prev_hash})
    return len(pending)


def event_of(row: AuditEventRow) -> AuditEvent:
    return AuditEvent.model_validate(row, from_attributes=True)


def event_batches(
    session: Session,
    columns: list[str],
    upto: int | None = None,
    batch: int = VERIFY_BATCH,
    after: int = 0,
) -> Iterator[Sequence[Row[Any]]]:
    """These columns of every event (after `after`, up to `upto`) in sequence order, in keyset batches so
    memory stays flat on any chain length. Plain rows, not ORM objects: nothing is kept in the session, and
    a row costs a fraction of an object."""
    table = AuditEventRow.__table__  # type: ignore[attr-defined]
    query = sa_select(*[table.c[name] for name in columns]).order_by(table.c.seq).limit(batch)
    if upto is not None:
        query = query.where(table.c.seq <= upto)
    while rows := session.execute(query.where(table.c.seq > after)).all():
        yield rows
        after = rows[-1].seq


def iter_events(session: Session, upto: int | None = None) -> Iterator[AuditEvent]:
    """Every event (up to `upto`) in sequence order."""
    for rows in event_batches(session, EVENT_FIELDS, upto):
        for row in rows:
            yield AuditEvent.model_validate(row._mapping)


def head(session: Session) -> tuple[int, str]:
    row = session.execute(
        sa_select(col(AuditHead.seq), col(AuditHead.hash)).where(col(AuditHead.id) == 1)
    ).first()
    return (row[0], row[1]) if row else (0, GENESIS_HASH)


def verify(session: Session) -> ChainCheck:
    """Recompute the whole chain from the stored events and compare its end with the recorded head. Each
    event's stored text must hash to its hash, name the event before it, carry the next sequence number and
    be what its columns make: a change to any column, or to the text, is found."""
    verifier = ChainVerifier()
    dialect = session.get_bind().dialect.name
    query = chain_batch_sql(dialect)
    after = _confirmed_in_database(session, verifier) if dialect == "postgresql" else 0
    while verifier.bad is None and (
        rows := session.execute(query, {"after": after, "batch": VERIFY_BATCH}).all()
    ):
        differs = _first_disagreeing(session, [row.seq for row in rows if not row.agrees])
        agreeing = rows if differs is None else [row for row in rows if row.seq < differs]
        verifier.add_lines([bytes(row.line) for row in agreeing])
        if differs is not None:
            row = rows[len(agreeing)]
            # Not a hash, so the verifier reports the event altered (unless it is also out of place).
            verifier.link(row.seq, row.prev_hash, row.hash, "columns differ from the hashed text")
        after = rows[-1].seq
    size, head_hash = head(session)
    return verifier.result(expected_size=size, expected_head=head_hash)


def _confirmed_in_database(session: Session, verifier: ChainVerifier) -> int:
    """Let PostgreSQL check the chain batch by batch (CHAIN_CHECKED_IN_DATABASE), moving the verifier on
    over each batch it confirms; the last event confirmed. At the first batch it cannot confirm, the caller
    checks on from there event by event, so the first bad event is named exactly as before."""
    while True:
        batch = session.execute(
            CHAIN_CHECKED_IN_DATABASE,
            {"after": verifier.size, "batch": DATABASE_BATCH, "head": verifier.head, "size": verifier.size},
        ).one()
        if not batch.events:
            return verifier.size
        if not batch.linked or _first_disagreeing(session, batch.unconfirmed) is not None:
            return verifier.size
        verifier.confirmed(batch.last_seq, batch.last_hash)


def _first_disagreeing(session: Session, seqs: list[int]) -> int | None:
    """The first of these events whose columns do not make its hashed text, checked in Python where SQL
    could not tell, or None. One at a time: they are few, and a column that cannot even be read (SQLite
    keeps whatever text it is given) marks just its own event."""
    table = AuditEventRow.__table__  # type: ignore[attr-defined]
    query = sa_select(*[table.c[name] for name in [*EVENT_FIELDS[:-1], "hashed_text"]])
    for seq in seqs:
        try:
            row = session.execute(query.where(table.c.seq == seq)).one()
        except ValueError:
            return seq
        hashed_fields = dict(zip(EVENT_FIELDS[:-1], row, strict=False))  # all but the text
        if canonical_text(hashed_fields) != row.hashed_text:
            return seq
    return None
