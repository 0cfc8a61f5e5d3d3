"""Tables of people and their tokens."""

from datetime import datetime

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from service.db import UtcDateTime


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    full_name: str = Field(max_length=200)
    role: str = Field(max_length=16)
    password_hash: str = Field(max_length=255)
    active: bool = True
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class Token(SQLModel, table=True):
    """A bearer token; only its SHA-256 is kept, so a stolen database yields no usable token."""

    __tablename__ = "tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


class AuthFailure(SQLModel, table=True):
    """A password attempt that failed (or is being checked right now), for rate limiting across processes."""

    __tablename__ = "auth_failures"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, index=True)
    client: str = Field(max_length=64, index=True)
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))


class AuthFailureTally(SQLModel, table=True):
    """Failed logins and unknown tokens of one client in one minute, counted instead of chained one by one:
    the first is an audit event at once, the rest reach the trail as one summary when the minute is over."""

    __tablename__ = "auth_failure_tallies"
    __table_args__ = (UniqueConstraint("client", "kind", "minute"),)

    id: int | None = Field(default=None, primary_key=True)
    client: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # "password" or "token"
    minute: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    failures: int = 0
    # The first few distinct usernames or routes tried, for the summary.
    subjects: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    first_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    last_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    summarised: bool = False
