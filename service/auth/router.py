"""HTTP routes for users and tokens."""

from fastapi import APIRouter, Request, Response

from schemas import Role, TokenIn, TokenOut, UserIn, UserOut
from service.audit import logic as audit
from service.auth import logic
from service.auth.deps import Reader, UserManager
from service.auth.tables import User
from service.db import WriteSession
from service.errors import Unauthorized
from service.writes import commit_as, commit_once, request_id

router = APIRouter(tags=["users and tokens"])


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id or 0,
        username=user.username,
        full_name=user.full_name,
        role=Role(user.role),
        active=user.active,
        created_at=user.created_at,
    )


@router.post("/users", status_code=201, response_model=UserOut)
def create_user(body: UserIn, request: Request, session: WriteSession, admin: UserManager) -> Response:
    return commit_once(request, session, admin, body, lambda: user_out(logic.create_user(session, body)))


@router.post("/tokens", status_code=201)
def create_token(body: TokenIn, request: Request, session: WriteSession) -> TokenOut:
    """Log in: exchange a username and password for a bearer token (shown once; only its hash is kept)."""
    try:
        secret, token, user = logic.log_in(session, body)
    except Unauthorized:
        session.rollback()  # release the write lock before the failure is recorded in its own transaction
        audit.record_now(
            request.app.state.engine,
            None,
            request_id(request),
            "auth.failed",
            "user",
            body.username,
            reason="wrong username or password",
        )
        raise
    commit_as(session, user, request)
    return TokenOut(
        token=secret, id=token.id or 0, name=token.name, expires_at=token.expires_at, user=user_out(user)
    )


@router.get("/me")
def me(user: Reader) -> UserOut:
    return user_out(user)
