"""Trails recorded before events kept their hashed text: the migration gives it to them from their columns."""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, MetaData, Table, create_engine, insert, text

from clients.audit_file import verify_export
from schemas.events import GENESIS_HASH, event_hash
from service import migrate
from service.audit.export import stream
from service.audit.logic import verify
from service.config import Settings
from service.db import UtcDateTime, make_engine, open_session


def _table_at_0007() -> Table:
    names = ["seq", "actor_id", "actor_name", "actor_role", "action", "entity_type", "entity_id"]
    names += ["entity_version", "reason", "request_id", "prev_hash", "hash"]
    return Table(
        "audit_events",
        MetaData(),
        *[Column(name) for name in names],
        Column("at", UtcDateTime()),
        Column("data", JSON()),
        Column("changes", JSON()),
    )


def record_events_at_0007(
    url: str,
    datas: Sequence[Any] = ({"code": "FE-1", "note": "Fe·6H2O"}, None, {"remaining": 2.5}),
    hash_of: Callable[[dict[str, Any]], str] = event_hash,
) -> str:
    """An event per `datas` as revision 0007 stored them (hashed by `hash_of`); returns the head hash."""
    engine = create_engine(url)
    prev_hash = GENESIS_HASH
    with engine.begin() as connection:
        for seq, data in enumerate(datas, 1):
            event = {
                **dict.fromkeys(["actor_id", "actor_name", "actor_role", "changes", "reason", "request_id"]),
                "seq": seq,
                "at": datetime(2026, 1, 2, 3, 4, 5, 6000 * seq, tzinfo=UTC),
                "action": "item.received",
                "entity_type": "item",
                "entity_id": f"FE-{seq}",
                "entity_version": 1,
                "data": data,
                "prev_hash": prev_hash,
            }
            prev_hash = hash_of(event)
            connection.execute(insert(_table_at_0007()), {**event, "hash": prev_hash})
        connection.execute(
            text("UPDATE audit_head SET seq = :seq, hash = :hash"), {"seq": len(datas), "hash": prev_hash}
        )
    engine.dispose()
    return prev_hash


def test_existing_events_verify_and_export_after_the_migration(empty_database_url, tmp_path: Path):
    url = Settings(database_url=empty_database_url).sqlalchemy_url
    migrate.upgrade(url, "0007")
    head_hash = record_events_at_0007(url)
    migrate.upgrade(url)

    engine = make_engine(Settings(database_url=empty_database_url))
    with open_session(engine, write=False) as session:
        check = verify(session)
    assert check.ok and check.size == 3 and check.head_hash == head_hash, check.problem
    path = tmp_path / "migrated.jsonl"
    path.write_text("".join(stream(engine, "jsonl", "aldo")), encoding="utf-8")
    engine.dispose()
    check, _ = verify_export(path)
    assert check.ok and check.size == 3 and check.head_hash == head_hash, check.problem
    assert "Fe·6H2O" in path.read_text(encoding="utf-8")

    migrate.downgrade(url, "0007")
    migrate.upgrade(url)
