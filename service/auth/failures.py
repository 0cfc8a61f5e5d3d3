"""Failed logins and unknown tokens, counted per client and minute so that strangers cannot grow the audit
trail: the first failure of a client's minute is an `auth.failed` event at once (who tried what, from
where), the rest are counted and reach the trail as one `auth.failed` summary of the client once the minute
is over (how many, which names or routes, first and last). The same counts rate-limit unknown tokens."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, text, update
from sqlmodel import Session, col, select

from service.auth.tables import AuthFailureTally, User
from service.db import open_session, utcnow
from service.work import BeforeCommit, note_event, run_before_commit, work_of

SUBJECTS_KEPT = 10  # distinct usernames or routes a summary names; the count covers all of them


@dataclass(frozen=True)
class Failure:
    client: str
    kind: str  # "password" or "token"
    entity_type: str  # what the immediate event is about: "user", "route", "signature"
    subject: str  # the username, route or record tried
    reason: str


def note_failure(
    engine: Engine,
    failure: Failure,
    before_commit: Sequence[BeforeCommit],
    *,
    window_seconds: int,
    actor: User | None = None,
    request_id: str | None = None,
    now: datetime | None = None,
) -> tuple[int, int]:
    """Count one failure. Returns the client's failures of this kind within the window, and the seconds
    until the oldest of them leaves it (a Retry-After for a caller that refuses on the count)."""
    now = now or utcnow()
    minute = now.replace(second=0, microsecond=0)
    client, subject = failure.client[:64], failure.subject[:128]
    with open_session(engine, write=True, before_commit=before_commit) as session:
        if engine.dialect.name == "postgresql":
            # One tally row per client, kind and minute, also when several processes count at once.
            key = f"auth-tally:{client}:{failure.kind}"
            session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
        tally = session.exec(
            select(AuthFailureTally).where(
                AuthFailureTally.client == client,
                AuthFailureTally.kind == failure.kind,
                AuthFailureTally.minute == minute,
            )
        ).first()
        if tally is None:
            tally = AuthFailureTally(
                client=client, kind=failure.kind, minute=minute, subjects=[], first_at=now, last_at=now
            )
            note_event(
                session,
                "auth.failed",
                failure.entity_type,
                subject,
                reason=failure.reason,
                data={"client": client},
            )
        tally.failures += 1
        tally.last_at = now
        if subject not in tally.subjects and len(tally.subjects) < SUBJECTS_KEPT:
            tally.subjects = [*tally.subjects, subject]
        session.add(tally)
        session.flush()
        _summarise(session, minute)
        since = minute - timedelta(seconds=window_seconds)
        session.execute(
            delete(AuthFailureTally).where(
                col(AuthFailureTally.summarised), col(AuthFailureTally.minute) <= since
            )
        )
        count, oldest = session.exec(
            select(
                func.coalesce(func.sum(AuthFailureTally.failures), 0), func.min(AuthFailureTally.minute)
            ).where(
                AuthFailureTally.client == client,
                AuthFailureTally.kind == failure.kind,
                col(AuthFailureTally.minute) > since,
            )
        ).one()
        work_of(session).attribute_to(actor, request_id)
        run_before_commit(session)  # the audit trail chains what was noted
        session.commit()
    retry_after = max(1, int((oldest + timedelta(seconds=window_seconds) - now).total_seconds()) + 1)
    return int(count), retry_after


def summarise(engine: Engine, before_commit: Sequence[BeforeCommit], now: datetime | None = None) -> int:
    """Chain the summaries of every minute that is over; returns how many were written. Run now and then by
    each server process (and at every failure); claiming the rows first means each is summarised once."""
    minute = (now or utcnow()).replace(second=0, microsecond=0)
    with open_session(engine, write=False) as session:
        waiting = session.exec(
            select(func.count()).where(
                col(AuthFailureTally.summarised).is_(False), col(AuthFailureTally.minute) < minute
            )
        ).one()
        session.rollback()
    if not waiting:
        return 0  # the usual case: no write transaction, no lock
    with open_session(engine, write=True, before_commit=before_commit) as session:
        written = _summarise(session, minute)
        run_before_commit(session)
        session.commit()
    return written


def _summarise(session: Session, minute: datetime) -> int:
    claimed = session.execute(
        update(AuthFailureTally)
        .where(col(AuthFailureTally.summarised).is_(False), col(AuthFailureTally.minute) < minute)
        .values(summarised=True)
        .returning(
            *(
                col(column)
                for column in (
                    AuthFailureTally.client,
                    AuthFailureTally.kind,
                    AuthFailureTally.minute,
                    AuthFailureTally.failures,
                    AuthFailureTally.subjects,
                    AuthFailureTally.first_at,
                    AuthFailureTally.last_at,
                )
            )
        )
    ).all()
    written = 0
    for client, kind, at, failures, subjects, first_at, last_at in sorted(claimed, key=lambda row: row[2]):
        if failures < 2:
            continue  # its one failure is in the trail already
        note_event(
            session,
            "auth.failed",
            "client",
            client,
            reason=f"{failures} failed {'logins' if kind == 'password' else 'token lookups'} in one minute",
            data={
                "kind": kind,
                "minute": at.isoformat(),
                "failures": failures,
                "subjects": subjects,
                "first_at": first_at.isoformat(),
                "last_at": last_at.isoformat(),
            },
        )
        written += 1
    return written
