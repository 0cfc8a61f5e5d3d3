"""The CurrentUser dependencies: who is calling, and may they do what this route does."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from service.auth.failures import Failure, note_failure
from service.auth.logic import role_of, user_for_token
from service.auth.ratelimit import TooManyAttempts, client_of
from service.auth.roles import Permission, may
from service.auth.tables import User
from service.db import ReadSession, reading
from service.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="A token from POST /api/v1/tokens")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def authorize(user: User, permission: Permission) -> User:
    """The one role check of both doors, the API and /ui: may this user do what the route does?"""
    if not may(role_of(user), permission):
        raise Forbidden(f"a {user.role} may not {permission.value.replace('_', ' ')}")
    return user


def _authenticate(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    session: Session,
    permission: Permission,
) -> User:
    try:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Unauthorized("send a bearer token: Authorization: Bearer <token>")
        user = user_for_token(session, credentials.credentials)
    except Unauthorized as refused:
        session.rollback()  # SQLite: the failure is counted in a write transaction of its own
        settings = request.app.state.settings
        # Counted, not chained one by one (service.auth.failures); the token itself is never written.
        failures, retry_after = note_failure(
            request.app.state.engine,
            Failure(client_of(request), "token", "route", request.url.path, refused.detail),
            request.app.state.before_commit,
            window_seconds=settings.auth_window_seconds,
            request_id=getattr(request.state, "request_id", None),
        )
        if failures > settings.auth_max_failures_per_client:
            raise TooManyAttempts(retry_after, "failed token lookups") from refused
        raise
    authorize(user, permission)
    request.state.user = user
    return user


def _require(permission: Permission) -> Callable[..., User]:
    def dependency(request: Request, credentials: Credentials) -> User:
        # Its own short session: the route's write transaction must not start before we know who calls, and a
        # writing route must not hold a second connection while it writes.
        with reading(request.app.state.engine) as session:
            return _authenticate(request, credentials, session, permission)

    return dependency


def _require_reader(request: Request, credentials: Credentials, session: ReadSession) -> User:
    # On the route's own read session (FastAPI hands the same one to the route): one connection and one
    # transaction per read instead of two, which on PostgreSQL also saves a pool check-out and its ping.
    return _authenticate(request, credentials, session, Permission.read)


Reader = Annotated[User, Depends(_require_reader)]
Recorder = Annotated[User, Depends(_require(Permission.record))]
TypeManager = Annotated[User, Depends(_require(Permission.manage_types))]
UserManager = Annotated[User, Depends(_require(Permission.manage_users))]
Auditor = Annotated[User, Depends(_require(Permission.audit))]
Signer = Annotated[User, Depends(_require(Permission.sign))]
TemplateAuthor = Annotated[User, Depends(_require(Permission.author_templates))]
Releaser = Annotated[User, Depends(_require(Permission.release))]
Importer = Annotated[User, Depends(_require(Permission.bulk_import))]
