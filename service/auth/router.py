"""HTTP routes for users and tokens."""

from fastapi import APIRouter, Request, Response

from schemas import Role, TokenIn, TokenInfo, TokenOut, UserIn, UserOut
from service.auth import logic
from service.auth.deps import Reader, UserManager
from service.auth.login import with_password_limit
from service.auth.tables import Token, User
from service.db import ReadSession, RowId, WriteSession
from service.writes import commit_as, commit_once

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

    def check() -> tuple[str, Token, User]:
        issued = logic.log_in(session, body)
        commit_as(session, issued[2], request)
        return issued

    secret, token, user = with_password_limit(
        request,
        body.username,
        check,
        failure=("user", body.username, "wrong username or password"),
        before_forget=session.rollback,
    )
    return TokenOut(
        token=secret, id=token.id or 0, name=token.name, expires_at=token.expires_at, user=user_out(user)
    )


@router.get("/me")
def me(user: Reader) -> UserOut:
    return user_out(user)


def token_info(token: Token, user: User) -> TokenInfo:
    return TokenInfo(
        id=token.id or 0,
        name=token.name,
        user=user.username,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
    )


@router.get("/tokens")
def list_tokens(session: ReadSession, user: Reader) -> list[TokenInfo]:
    """Your tokens, newest first: which are live, expired or revoked (never their secrets)."""
    return [token_info(token, user) for token in logic.tokens_of(session, user)]


@router.post("/tokens/{token_id}/revoke", response_model=TokenInfo)
def revoke_token(token_id: RowId, request: Request, session: WriteSession, user: Reader) -> Response:
    """Revoke a token (your own; an admin, anyone's): refused from the next request on, on every server."""
    return commit_once(
        request,
        session,
        user,
        None,
        lambda: token_info(*logic.revoke_token(session, user, token_id)),
        status_code=200,
    )
