"""Fixtures: every API test runs on SQLite and on PostgreSQL, each on a freshly reset, seeded database.

The PostgreSQL leg uses CELLPROV_TEST_DATABASE_URL (default: the local server's `test` database) to create a
throw-away database per test session. It is skipped when the server is unreachable, except under CI=true.
"""

import os
import secrets
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, Table, create_engine, text
from sqlalchemy.engine import make_url

from schemas import Role
from schemas.events import GENESIS_HASH
from service import migrate
from service.app import create_app
from service.auth.logic import hash_token
from service.auth.passwords import hash_password
from service.auth.tables import Token, User
from service.config import Settings
from service.db import make_engine, open_session, utcnow
from service.items.logic import load_builtin_types
from service.search.queries import rebuild_sqlite_index
from service.tables import metadata
from service.templates.logic import load_library
from service.work import work_of

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
IN_CI = os.environ.get("CI", "").lower() == "true"
USERNAMES = {Role.admin: "ada", Role.scientist: "sam", Role.reviewer: "rita", Role.auditor: "aldo"}


@dataclass(frozen=True)
class Person:
    role: Role
    username: str
    password: str
    password_hash: str
    token: str


@pytest.fixture(scope="session")
def people() -> dict[Role, Person]:
    """One user per role; hashed once per session because scrypt is slow on purpose."""
    made = {}
    for role, username in USERNAMES.items():
        password = f"{username}-password"
        made[role] = Person(
            role, username, password, hash_password(password), "cp_" + secrets.token_urlsafe(24)
        )
    return made


def _postgres_url() -> str | None:
    """A URL to a new, empty PostgreSQL database for this session (or None when there is no server)."""
    base = make_url(
        Settings(database_url=os.environ.get("CELLPROV_TEST_DATABASE_URL", PG_DEFAULT)).sqlalchemy_url
    )
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            name = f"cellprov_test_{uuid.uuid4().hex[:10]}"
            connection.execute(text(f'CREATE DATABASE "{name}"'))
            # A throw-away database need not wait for its disk on every commit.
            connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except Exception as exc:  # any failure to reach the server: the leg is skipped (or fails under CI)
        if IN_CI:
            pytest.fail(f"PostgreSQL is mandatory under CI=true and {base.render_as_string()} failed: {exc}")
        return None
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _drop_postgres(url: str) -> None:
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database of each kind, shared by the session and reset before every test."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'cellprov.db'}"
        migrate.upgrade(url)
        yield url
        return
    url = _postgres_url()
    if url is None:
        pytest.skip("PostgreSQL is not reachable; set CELLPROV_TEST_DATABASE_URL (mandatory under CI=true)")
    migrate.upgrade(url)
    yield url
    _drop_postgres(url)


_SQLITE_GUARDS: dict[str, list[str]] = {}


# The seeded rows of each test database, taken after its first real seed: publishing the template library
# through the service takes seconds, copying its rows back takes milliseconds.
_SEEDS: dict[str, list[tuple[Table, list[dict[str, Any]]]]] = {}


def reset(engine: Engine, people: dict[Role, Person]) -> None:
    """Empty every table, then seed the built-in item types and templates, and one user (with a token) per
    role."""
    _empty(engine)
    seed = _SEEDS.get(str(engine.url))
    if seed is None:
        _seed(engine, people)
        with engine.connect() as connection:
            seed = [
                (table, [dict(row._mapping) for row in connection.execute(table.select())])
                for table in metadata.sorted_tables
            ]
        _SEEDS[str(engine.url)] = [(table, rows) for table, rows in seed if rows]
        return
    with engine.begin() as connection:
        for table, rows in seed:
            connection.execute(table.insert(), rows)
            if engine.dialect.name == "postgresql" and "id" in table.c:
                # The rows came back with their ids; the sequence must continue after them.
                sequence = f"pg_get_serial_sequence('{table.name}', 'id')"
                connection.execute(text(f"SELECT setval({sequence}, (SELECT MAX(id) FROM {table.name}))"))


def _empty(engine: Engine) -> None:
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with engine.begin() as connection:
        # The audit table's append-only triggers would refuse this; the tests step around them knowingly.
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            # DELETE, not TRUNCATE: a test leaves few rows, and TRUNCATE rewrites every table's files.
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))
            for table in metadata.sorted_tables:
                if "id" in table.c and table.c.id.autoincrement is not False:
                    sequence = f"pg_get_serial_sequence('{table.name}', 'id')"
                    connection.execute(text(f"SELECT setval({sequence}, 1, false)"))
        else:
            present = connection.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            ).all()
            # The first reset sees the triggers as migrated; later ones restore them if a test dropped them.
            guards = _SQLITE_GUARDS.setdefault(str(engine.url), [sql for _, sql in present])
            for name, _ in present:
                connection.execute(text(f"DROP TRIGGER {name}"))
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))
            for sql in guards:
                connection.execute(text(sql))
            # search_documents was emptied with its FTS5 triggers off: re-read the index from it.
            rebuild_sqlite_index(connection)


def _seed(engine: Engine, people: dict[Role, Person]) -> None:
    with engine.begin() as connection:
        connection.execute(text(f"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS_HASH}')"))
    with open_session(engine, write=True) as session:
        load_builtin_types(session)
        load_library(session)
        now = utcnow()
        for person in people.values():
            user = User(
                username=person.username,
                full_name=person.username.title(),
                role=person.role.value,
                password_hash=person.password_hash,
                created_at=now,
            )
            session.add(user)
            session.flush()
            assert user.id is not None
            session.add(
                Token(
                    user_id=user.id,
                    name="test",
                    token_hash=hash_token(person.token),
                    created_at=now,
                    expires_at=now + timedelta(days=1),
                )
            )
        # The harness's own setup is not part of any test's trail: each test counts its events from zero.
        work_of(session).events.clear()
        session.commit()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    key = tmp_path / "keys" / "audit.pem"
    return Settings(database_url=database_url, files_dir=tmp_path / "files", audit_key_file=key)


@pytest.fixture
def app(settings: Settings, people: dict[Role, Person]) -> Iterator[FastAPI]:
    engine = make_engine(settings)
    reset(engine, people)
    engine.dispose()
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


def _client(app: FastAPI, token: str | None) -> TestClient:
    # raise_server_exceptions=False: a bug must show up as the 500 a user would get, which tests then catch.
    client = TestClient(app, base_url="http://testserver/api/v1", raise_server_exceptions=False)
    if token:
        client.headers["Authorization"] = f"Bearer {token}"
    return client


@pytest.fixture
def as_role(app: FastAPI, people: dict[Role, Person]) -> dict[Role, TestClient]:
    """An HTTP client per role, each sending its user's bearer token."""
    return {role: _client(app, person.token) for role, person in people.items()}


@pytest.fixture
def api(as_role: dict[Role, TestClient]) -> TestClient:
    """A scientist's client: the role that records lots and steps day to day."""
    return as_role[Role.scientist]


@pytest.fixture
def admin(as_role: dict[Role, TestClient]) -> TestClient:
    return as_role[Role.admin]


@pytest.fixture
def anonymous(app: FastAPI) -> TestClient:
    return _client(app, None)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new, unmigrated database of each kind (for the migration tests)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    url = _postgres_url()
    if url is None:
        pytest.skip("PostgreSQL is not reachable; set CELLPROV_TEST_DATABASE_URL (mandatory under CI=true)")
    yield url
    _drop_postgres(url)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(settings: Settings, people: dict[Role, Person]) -> Iterator[str]:
    """A real uvicorn process serving a freshly reset database; yields its API base URL."""
    engine = make_engine(settings)
    reset(engine, people)
    engine.dispose()
    port = _free_port()
    env = {
        **os.environ,
        "CELLPROV_DATABASE_URL": settings.database_url,
        "CELLPROV_FILES_DIR": str(settings.files_dir),
        "CELLPROV_AUDIT_KEY_FILE": str(settings.audit_key_file),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "service.serving",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    url = f"http://127.0.0.1:{port}/api/v1"
    # Wait for the process to answer, not for a fixed time.
    transport = httpx.HTTPTransport(retries=50)
    with httpx.Client(transport=transport, timeout=10) as probe:
        for _ in range(100):
            try:
                if probe.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                if process.poll() is not None:
                    pytest.fail("the server process exited")
    yield url
    process.terminate()
    process.wait(timeout=10)
