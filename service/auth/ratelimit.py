"""Rate limiting of password attempts (logging in, signing), kept in the database so that every server
process behind the same database counts the same failures.

An attempt is reserved (written as a failure) before the password is checked and forgotten once it proved
right, so parallel guesses, on one process or many, cannot slip past the limit between check and count."""

from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request
from sqlalchemy import Engine, delete, func, text
from sqlmodel import col, select

from service.auth.tables import AuthFailure
from service.config import Settings
from service.db import open_session, utcnow
from service.errors import DomainError


class TooManyAttempts(DomainError):
    status, slug, title = 429, "too-many-attempts", "Too many failed attempts"

    def __init__(self, retry_after: int, what: str = "failed password attempts"):
        super().__init__(
            f"too many {what}; try again in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


@dataclass(frozen=True)
class Attempt:
    id: int


def admit(engine: Engine, settings: Settings, username: str, client: str) -> Attempt:
    """Reserve one password attempt for `username` from `client`, or raise TooManyAttempts."""
    window = timedelta(seconds=settings.auth_window_seconds)
    username, client = username[:64], client[:64]
    with open_session(engine, write=True) as session:
        if engine.dialect.name == "postgresql":
            # Serialise attempts on the same name or address across processes (SQLite's BEGIN IMMEDIATE
            # already serialises every writer). Sorted, so two requests never wait on each other in a cycle.
            for key in sorted({f"auth-user:{username}", f"auth-client:{client}"}):
                session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
        now = utcnow()
        since = now - window
        session.execute(delete(AuthFailure).where(col(AuthFailure.at) <= since))  # nobody counts those
        for column, value, allowed in (
            (AuthFailure.username, username, settings.auth_max_failures),
            (AuthFailure.client, client, settings.auth_max_failures_per_client),
        ):
            count, oldest = session.exec(
                select(func.count(), func.min(AuthFailure.at)).where(
                    col(column) == value, col(AuthFailure.at) > since
                )
            ).one()
            if count >= allowed:
                session.rollback()
                raise TooManyAttempts(max(1, int((oldest + window - now).total_seconds()) + 1))
        reserved = AuthFailure(username=username, client=client, at=now)
        session.add(reserved)
        session.commit()
        assert reserved.id is not None
        return Attempt(reserved.id)


def forget(engine: Engine, attempt: Attempt) -> None:
    """The password was right: the reserved attempt does not count as a failure."""
    with open_session(engine, write=True) as session:
        session.execute(delete(AuthFailure).where(col(AuthFailure.id) == attempt.id))
        session.commit()


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"
