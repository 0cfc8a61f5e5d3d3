"""Finding audit events: by actor, action, time, entity, or about a given set of items and steps.

The trail knows no domain: which items and steps make up a lineage is the lineage domain's answer, handed in
as `EventFilter.records`."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, TextClause, and_, false, or_, text
from sqlmodel import Session, col, select

from schemas.events import AuditEvent
from service.audit.tables import AuditEventRow


@dataclass(frozen=True)
class EventFilter:
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    records: tuple[list[str], list[int]] | None = None  # events about these item codes and step ids


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
    if where.records is not None:
        query = query.where(about_records(*where.records))
    if after_seq is not None:
        query = query.where(col(AuditEventRow.seq) > after_seq)
    return list(session.exec(query.order_by(col(AuditEventRow.seq)).limit(limit)).all())


# For verification: each event's export line, and whether its columns still make its hashed text. The text
# is rebuilt from the columns in SQL (schemas.events.canonical_text: keys sorted, no spaces), each column as
# its JSON text: values quoted by the database, the time in timestamp_text's form, the JSON columns as
# stored (CanonicalJSON writes them canonically). Where that is not byte for byte the stored text (events
# recorded before revision audit_0008, or a string the database quotes otherwise than Python does), the
# event is checked again in Python: this is a fast filter, not the judge.
_JSON_OF = {
    "sqlite": {
        "value": "json_quote({0})",
        "at": """'"' || replace(at, ' ', 'T') || 'Z"'""",
        "json": "coalesce({0}, 'null')",
        "format": "printf",
        "line": """CAST(printf('%s,"hash":"%s"}%s', substr(hashed_text, 1, length(hashed_text) - 1), hash,
                   char(10)) AS BLOB)""",
    },
    "postgresql": {
        "value": "coalesce(to_json({0})::text, 'null')",
        "at": """to_json(to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text""",
        "json": "coalesce({0}::text, 'null')",
        "format": "format",
        "line": """convert_to(format('%s,"hash":"%s"}%s', left(hashed_text, -1), hash, chr(10)), 'UTF8')""",
    },
}
HASHED_COLUMNS = sorted(name for name in AuditEvent.model_fields if name != "hash")


def _column_json(dialect: str, name: str) -> str:
    forms = _JSON_OF[dialect]
    if name == "at":
        return forms["at"]
    return (forms["json"] if name in ("data", "changes") else forms["value"]).format(name)


def _rebuilt(dialect: str) -> str:
    # One format call, not a chain of concatenations that copies the growing text at every step.
    template = ",".join(f'"{name}":%s' for name in HASHED_COLUMNS)
    values = ", ".join(_column_json(dialect, name) for name in HASHED_COLUMNS)
    return f"{_JSON_OF[dialect]['format']}('{{{template}}}', {values})"


# PostgreSQL checks a whole batch itself: each stored text hashed with sha256(), each link against the hash
# before it (lag), the sequence without gaps; what it sends back is one row. `unconfirmed` lists the events
# whose columns SQL could not confirm against their text (checked again in Python, as in chain_batch_sql).
CHAIN_CHECKED_IN_DATABASE = text(
    f"""WITH batch AS (
            SELECT *, lag(hash) OVER w AS hash_before, lag(seq) OVER w AS seq_before
            FROM audit_events WHERE seq > :after WINDOW w AS (ORDER BY seq) ORDER BY seq LIMIT :batch)
        SELECT count(*) AS events, max(seq) AS last_seq,
               (SELECT hash FROM audit_events WHERE seq = max(batch.seq)) AS last_hash,
               coalesce(bool_and(encode(sha256(convert_to(hashed_text, 'UTF8')), 'hex') = hash
                                 AND prev_hash = coalesce(hash_before, :head)
                                 AND seq = coalesce(seq_before, :size) + 1), true) AS linked,
               coalesce(array_agg(seq) FILTER (WHERE hashed_text IS DISTINCT FROM {_rebuilt("postgresql")}),
                        '{{}}') AS unconfirmed
        FROM batch"""
)


def chain_batch_sql(dialect: str) -> TextClause:
    """A batch of events after :after (at most :batch): seq, prev_hash, hash, line (bytes) and agrees."""
    return text(
        f"""SELECT seq, prev_hash, hash, {_JSON_OF[dialect]["line"]} AS line,
                   hashed_text = {_rebuilt(dialect)} AS agrees
            FROM audit_events WHERE seq > :after ORDER BY seq LIMIT :batch"""
    )
