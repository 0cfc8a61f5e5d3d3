"""Users, roles and bearer tokens."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from schemas.common import Contract

Username = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9._-]{1,63}$")]


class Role(StrEnum):
    admin = "admin"
    scientist = "scientist"
    reviewer = "reviewer"
    auditor = "auditor"


class UserIn(Contract):
    username: Username
    full_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    role: Role
    password: Annotated[str, StringConstraints(min_length=8, max_length=256)]


class UserOut(BaseModel):
    id: int
    username: str
    full_name: str
    role: Role
    active: bool
    created_at: datetime


class TokenIn(Contract):
    username: Username
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    name: Annotated[str, StringConstraints(max_length=100)] = "api"
    expires_in_days: Annotated[int, Field(ge=1, le=366)] = 90


class TokenOut(BaseModel):
    """The token itself is shown once, here; the server keeps only its hash."""

    token: str
    id: int
    name: str
    expires_at: datetime
    user: UserOut


class TokenInfo(BaseModel):
    """A token as its owner and admins see it (never the secret itself)."""

    id: int
    name: str
    user: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
