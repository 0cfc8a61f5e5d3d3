"""Engine, sessions and the column types shared by every table; SQLite pragmas live here too."""

import fcntl
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi import Path as PathParam
from sqlalchemy import DateTime, Engine, Table, create_engine, event, insert
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel

from service.config import Settings
from service.work import BeforeCommit, WorkSession

# Ids are 32-bit integer columns on PostgreSQL; SQLite cannot even bind a Python int past 64 bits. A number
# beyond this in a URL is refused as invalid instead of reaching the database.
MAX_ID = 2**31 - 1
RowId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="a record's id")]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        # SQLite hands timestamps back without a zone; they were stored as UTC.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(settings: Settings) -> Engine:
    url = settings.sqlalchemy_url
    if not settings.is_sqlite:
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)

    path = url.removeprefix("sqlite:///")
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so BEGIN below is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # INSERT OR REPLACE deletes the row it replaces; only with recursive triggers does that delete meet
        # the audit table's no-delete trigger.
        cursor.execute("PRAGMA recursive_triggers=ON")
        cursor.close()

    gate = WriterGate(Path(path + "-writers.lock")) if path and path != ":memory:" else None

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # A write takes the write lock up front: a deferred transaction that reads first and writes later
        # fails with "database is locked" instead of waiting when another writer got there in between.
        write = connection.get_execution_options().get("cellprov_write", False)
        if write and gate is not None:
            gate.enter(connection.info)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    if gate is not None:
        # Back in the pool means the transaction is over (committed, or rolled back on return).
        event.listen(engine, "checkin", lambda _dbapi, record: gate.leave(record.info))
        event.listen(engine, "close", lambda _dbapi, record: gate.leave(record.info))

    return engine


class WriterGate:
    """Writers to one SQLite file queue here, in the kernel, before BEGIN IMMEDIATE. SQLite lets a writer
    that finds the lock taken sleep and retry (1, 2, 5 … up to 100 ms), so under contention the lock sat
    idle between writers and a second server process added nothing; a blocking `flock` wakes the next
    writer the moment the last one is done, in any process. The SQLite lock stays the one that counts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Threads inside, so a nested write session of one does not wait for itself. A set, not a
        # thread-local: a request's transaction may begin in one thread of the pool and end in another.
        self._holders: set[int] = set()

    def enter(self, info: dict[str, Any]) -> None:
        thread = threading.get_ident()
        if thread in self._holders:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # releases the GIL while it waits
        info["writer_gate"] = (fd, thread)
        self._holders.add(thread)

    def leave(self, info: dict[str, Any]) -> None:
        held = info.pop("writer_gate", None)
        if held is not None:
            fd, thread = held
            self._holders.discard(thread)
            os.close(fd)  # closing the descriptor releases its lock


def open_session(engine: Engine, *, write: bool, before_commit: Sequence[BeforeCommit] = ()) -> WorkSession:
    """A session with its unit of work, whose transaction starts at its first statement; on SQLite a write
    session's BEGIN takes the write lock then, not earlier, so nothing holds the lock while a request is
    still being authenticated. `before_commit` are the hooks its writes run (service.writes.commit_as)."""
    bind = engine.execution_options(cellprov_write=True) if write else engine
    return WorkSession(bind, before_commit)


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A read-only session whose transaction ends by a commit, not by the rollback of closing it. For a read
    the two are the same, but psycopg forgets every statement it prepared on a connection at each rollback:
    PostgreSQL then plans every lineage statement afresh on each request (up to 0.8 ms apiece). Objects
    are expunged first, so nothing a reader changed on one is written. A failed read still rolls back."""
    with open_session(engine, write=False) as session:
        yield session
        session.expunge_all()
        session.commit()


# --- rows written at the end of the transaction -----------------------------------------------------------


def insert_new(session: Session, records: Sequence[SQLModel]) -> None:
    """Insert new records of one table with one INSERT … RETURNING, and give each its id. They stay out of
    the session: a step's own rows are written once and never changed in its transaction, and the unit of
    work's bookkeeping cost more than the INSERT itself."""
    if not records:
        return
    table: Table = type(records[0]).__table__  # type: ignore[attr-defined]
    columns = [column.key for column in table.columns if column.key != "id"]
    rows = [{name: getattr(record, name) for name in columns} for record in records]
    session.flush()  # the rows they refer to first
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids = session.connection().execute(statement, rows).scalars().all()
    for record, record_id in zip(records, ids, strict=True):
        record.id = record_id


def _read_session(request: Request) -> Iterator[Session]:
    with reading(request.app.state.engine) as session:
        yield session


def open_writer(request: Request) -> WorkSession:
    """A write session for a request, with the hooks the app runs before every commit (service.app)."""
    state = request.app.state
    return open_session(state.engine, write=True, before_commit=state.before_commit)


def _write_session(request: Request) -> Iterator[Session]:
    # Commits happen explicitly in service.writes.commit_once, before the response leaves; closing rolls back
    # whatever a failed request left behind.
    with open_writer(request) as session:
        yield session


ReadSession = Annotated[Session, Depends(_read_session)]
WriteSession = Annotated[Session, Depends(_write_session)]
