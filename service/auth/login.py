"""Password checks with their rate limit and failure count, one way for every door: POST /tokens, the
browser's login form and e-signatures all pass through here, so a guess counts wherever it is made."""

from collections.abc import Callable
from typing import TypeVar

from fastapi import Request

from service.auth import ratelimit
from service.auth.failures import Failure, note_failure
from service.auth.tables import User
from service.errors import Unauthorized
from service.writes import request_id

T = TypeVar("T")


def with_password_limit(
    request: Request,
    username: str,
    check: Callable[[], T],
    *,
    failure: tuple[str, str, str],
    actor: User | None = None,
    before_forget: Callable[[], None] | None = None,
) -> T:
    """Run `check` (which verifies a password and raises Unauthorized when it is wrong) as one rate-limited
    attempt of `username` from this client. `failure` is (entity type, subject, reason) of the audit event a
    wrong password leaves; `before_forget` lets go of the caller's transaction before the attempt is
    forgotten (SQLite has one writer)."""
    engine, settings = request.app.state.engine, request.app.state.settings
    client = ratelimit.client_of(request)
    attempt = ratelimit.admit(engine, settings, username, client)
    wrong_password = False
    try:
        return check()
    except Unauthorized:
        wrong_password = True
        if before_forget is not None:
            before_forget()
        entity_type, subject, reason = failure
        note_failure(
            engine,
            Failure(client, "password", entity_type, subject, reason),
            request.app.state.before_commit,
            window_seconds=settings.auth_window_seconds,
            actor=actor,
            request_id=request_id(request),
        )
        raise
    finally:
        if not wrong_password:  # right, or refused for another reason: not a guess
            if before_forget is not None:
                before_forget()
            ratelimit.forget(engine, attempt)
