"""Bench databases: one per scale and engine, built once by importing the generated history, then reused."""

import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import select

from schemas import Role
from service import migrate
from service.audit import logic as audit
from service.auth.logic import hash_token
from service.auth.passwords import hash_password
from service.auth.tables import Token, User
from service.config import Settings
from service.db import make_engine, open_session, utcnow
from service.items.logic import load_builtin_types
from service.templates.logic import load_library

DATA = Path(__file__).parent / "data"
PG_BASE = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_USER = "bench"


@dataclass(frozen=True)
class BenchDatabase:
    engine_name: str  # sqlite | postgresql
    url: str
    marker: Path  # the generator's shape and seed, written once the import finished

    def loaded(self) -> dict | None:
        return json.loads(self.marker.read_text()) if self.marker.exists() else None


def locate(
    engine_name: str, scale: str, pg_base: str = PG_BASE, prefix: str = "cellprov_bench"
) -> BenchDatabase:
    """`prefix` names the databases; two checkouts benchmarking on one PostgreSQL server need their own."""
    DATA.mkdir(exist_ok=True)
    name = f"{prefix}_{scale}"
    if engine_name == "sqlite":
        url = f"sqlite:///{DATA / (name + '.db')}"
    else:
        url = make_url(pg_base).set(database=name).render_as_string(hide_password=False)
    return BenchDatabase(engine_name, url, DATA / f"{name}.{engine_name}.json")


def recreate(db: BenchDatabase) -> None:
    """An empty, migrated database with the built-in types and templates and an admin `bench` user."""
    db.marker.unlink(missing_ok=True)
    if db.engine_name == "sqlite":
        path = Path(db.url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        target = make_url(Settings(database_url=db.url).sqlalchemy_url)
        admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{target.database}"'))
        admin.dispose()
    settings = Settings(database_url=db.url)
    engine = make_engine(settings)
    migrate.upgrade(settings.sqlalchemy_url)
    with open_session(engine, write=True) as session:
        load_builtin_types(session)
        load_library(session)
        session.add(
            User(
                username=BENCH_USER,
                full_name="Benchmark loader",
                role=Role.admin.value,
                password_hash=hash_password(secrets.token_urlsafe(16)),
                created_at=utcnow(),
            )
        )
        audit.append_pending(session)
        session.commit()
    engine.dispose()


def issue_token(db: BenchDatabase) -> str:
    """A fresh day-long token for the bench user, stored hashed like any other."""
    secret = "cp_" + secrets.token_urlsafe(32)
    engine = make_engine(Settings(database_url=db.url))
    with open_session(engine, write=True) as session:
        user = session.exec(select(User).where(User.username == BENCH_USER)).one()
        assert user.id is not None
        now = utcnow()
        session.add(
            Token(
                user_id=user.id,
                name="bench",
                token_hash=hash_token(secret),
                created_at=now,
                expires_at=now + timedelta(days=1),
            )
        )
        session.commit()
    engine.dispose()
    return secret


def server_version(db: BenchDatabase) -> str:
    engine = make_engine(Settings(database_url=db.url))
    with engine.connect() as connection:
        sql = "SELECT sqlite_version()" if db.engine_name == "sqlite" else "SHOW server_version"
        version = str(connection.execute(text(sql)).scalar_one())
    engine.dispose()
    return version
