"""Each audit event keeps the exact text its hash was taken over, so exports and verification need not
rebuild it per event. Existing events get it from their columns, the way verification rebuilt it until now,
and their data and changes are rewritten as canonical JSON text (the same values), as new events store them,
so verification can compare columns and text in SQL.

Revision ID: audit_0008_hashed_text
Revises: 0007
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from schemas.events import canonical_json, canonical_text

revision: str = "audit_0008_hashed_text"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIELDS = [
    "seq",
    "at",
    "actor_id",
    "actor_name",
    "actor_role",
    "action",
    "entity_type",
    "entity_id",
    "entity_version",
    "data",
    "changes",
    "reason",
    "request_id",
    "prev_hash",
]
BATCH = 5000

# The append-only guards of revision 0003, lifted while existing events get their text.
GUARDS = {
    "postgresql": (
        ["ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete"],
        ["ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete"],
    ),
    "sqlite": (
        ["DROP TRIGGER IF EXISTS audit_events_no_update", "DROP TRIGGER IF EXISTS audit_events_no_delete"],
        [
            """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
           BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END""",
            """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
           BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END""",
        ],
    ),
}


def _events(connection: sa.Connection, after: int) -> list[dict[str, Any]]:
    table = sa.table(
        "audit_events",
        *[sa.column(name) for name in FIELDS if name not in ("at", "data", "changes")],
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("data", sa.JSON()),
        sa.column("changes", sa.JSON()),
    )
    rows = connection.execute(sa.select(table).where(table.c.seq > after).order_by(table.c.seq).limit(BATCH))
    return [dict(row._mapping) for row in rows]


def _utc(at: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they were stored as UTC.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _canonical(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": event["seq"],
        "text": canonical_text({**event, "at": _utc(event["at"])}),
        "data": canonical_json(event["data"]),
        "changes": canonical_json(event["changes"]),
    }


def upgrade() -> None:
    connection = op.get_bind()
    lift, restore = GUARDS[connection.dialect.name]
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hashed_text", sa.Text(), nullable=True))
    for statement in lift:
        op.execute(statement)
    # SQLite would give a CAST AS JSON numeric affinity; it stores the text as given anyway.
    as_json = "CAST({} AS JSON)" if connection.dialect.name == "postgresql" else "{}"
    update = sa.text(
        f"""UPDATE audit_events SET hashed_text = :text, data = {as_json.format(":data")},
            changes = {as_json.format(":changes")} WHERE seq = :seq"""
    )
    after = 0
    while events := _events(connection, after):
        connection.execute(update, [_canonical(event) for event in events])
        after = events[-1]["seq"]
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("hashed_text", existing_type=sa.Text(), nullable=False)
    for statement in restore:
        op.execute(statement)


def downgrade() -> None:
    connection = op.get_bind()
    lift, restore = GUARDS[connection.dialect.name]
    for statement in lift:
        op.execute(statement)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("hashed_text")
    for statement in restore:
        op.execute(statement)
