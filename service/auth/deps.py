"""The CurrentUser dependencies: who is calling, and may they do what this route does."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.audit import logic as audit
from service.auth.logic import role_of, user_for_token
from service.auth.roles import Permission, may
from service.auth.tables import User
from service.db import open_session
from service.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="A token from POST /api/v1/tokens")


def _require(permission: Permission) -> Callable[..., User]:
    def dependency(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> User:
        try:
            if credentials is None or credentials.scheme.lower() != "bearer":
                raise Unauthorized("send a bearer token: Authorization: Bearer <token>")
            # Its own short session: the route's write transaction must not start before we know who calls.
            with open_session(request.app.state.engine, write=False) as session:
                user = user_for_token(session, credentials.credentials)
        except Unauthorized as refused:
            # Kept in the audit trail without the token itself: tokens are never written anywhere.
            audit.record_now(
                request.app.state.engine,
                None,
                getattr(request.state, "request_id", None),
                "auth.failed",
                "route",
                request.url.path,
                reason=refused.detail,
            )
            raise
        if not may(role_of(user), permission):
            raise Forbidden(f"a {user.role} may not {permission.value.replace('_', ' ')}")
        request.state.user = user
        return user

    dependency.permission = permission  # type: ignore[attr-defined]  # read by the role x route test
    return dependency


Reader = Annotated[User, Depends(_require(Permission.read))]
Recorder = Annotated[User, Depends(_require(Permission.record))]
TypeManager = Annotated[User, Depends(_require(Permission.manage_types))]
UserManager = Annotated[User, Depends(_require(Permission.manage_users))]
Auditor = Annotated[User, Depends(_require(Permission.audit))]
Signer = Annotated[User, Depends(_require(Permission.sign))]
TemplateAuthor = Annotated[User, Depends(_require(Permission.author_templates))]
Releaser = Annotated[User, Depends(_require(Permission.release))]
Importer = Annotated[User, Depends(_require(Permission.bulk_import))]
