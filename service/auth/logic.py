"""Creating users, issuing tokens, and resolving a bearer token to its user."""

import hashlib
import secrets
from datetime import timedelta

from sqlmodel import Session, select

from schemas import Role, TokenIn, UserIn
from service.auth.passwords import check_password, hash_password, waste_check
from service.auth.tables import Token, User
from service.db import utcnow
from service.errors import Conflict, NotFound, Unauthorized
from service.work import note_event

TOKEN_PREFIX = "cp_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(session: Session, body: UserIn) -> User:
    if session.exec(select(User).where(User.username == body.username)).first():
        raise Conflict(f"a user named {body.username!r} already exists")
    user = User(
        username=body.username,
        full_name=body.full_name,
        role=body.role.value,
        password_hash=hash_password(body.password),
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    note_event(
        session,
        "user.created",
        "user",
        user.username,
        data={"username": user.username, "full_name": user.full_name, "role": user.role},
    )
    return user


def issue_token(session: Session, user: User, name: str, days: int) -> tuple[str, Token]:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    assert user.id is not None
    token = Token(
        user_id=user.id,
        name=name,
        token_hash=hash_token(secret),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    note_event(
        session,
        "token.issued",
        "token",
        str(token.id),
        data={"user": user.username, "name": name, "expires_at": token.expires_at.isoformat()},
    )
    return secret, token


def log_in(session: Session, body: TokenIn) -> tuple[str, Token, User]:
    user = session.exec(select(User).where(User.username == body.username)).first()
    # Same answer, and the same work, for an unknown user and a wrong password: no hint which usernames exist.
    if user is None:
        waste_check(body.password)
        raise Unauthorized("wrong username or password")
    if not check_password(body.password, user.password_hash) or not user.active:
        raise Unauthorized("wrong username or password")
    secret, token = issue_token(session, user, body.name, body.expires_in_days)
    return secret, token, user


def user_for_token(session: Session, secret: str) -> User:
    """Looked up on every request, never cached: a revocation takes effect at once in every process."""
    found = (
        select(User, Token.revoked_at, Token.expires_at)
        .join(Token)
        .where(Token.token_hash == hash_token(secret))
    )
    row = session.exec(found).first()
    if row is None:
        raise Unauthorized("unknown token")
    user, revoked_at, expires_at = row
    if revoked_at is not None:
        raise Unauthorized("this token was revoked")
    if expires_at <= utcnow():
        raise Unauthorized("this token has expired; ask for a new one with POST /api/v1/tokens")
    if not user.active:
        raise Unauthorized("this user is deactivated")
    return user


def role_of(user: User) -> Role:
    return Role(user.role)


def tokens_of(session: Session, user: User) -> list[Token]:
    """A user's tokens, newest first, revoked and expired ones included (so they can be told apart)."""
    query = select(Token).where(Token.user_id == user.id).order_by(Token.id.desc())  # type: ignore[union-attr]
    return list(session.exec(query))


def revoke_token(session: Session, actor: User, token_id: int) -> tuple[Token, User]:
    """Revoke a token of `actor`'s own, or anyone's when `actor` is an admin. Revoking twice changes nothing.
    Somebody else's token is "not found", not "forbidden": its existence is none of the caller's business."""
    row = session.exec(select(Token, User).join(User).where(Token.id == token_id)).first()
    if row is None or (row[1].id != actor.id and role_of(actor) != Role.admin):
        raise NotFound(f"you have no token {token_id}")
    token, owner = row
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        session.flush()
        data = {"user": owner.username, "name": token.name}
        note_event(session, "token.revoked", "token", str(token.id), data=data)
    return token, owner
