"""Electronic signatures: a person, a meaning, a time, and the exact record version they signed."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from schemas.common import Contract

RecordRef = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^(item|step|entry):[A-Za-z0-9._-]{1,64}$")
]


class Meaning(StrEnum):
    authored = "authored"
    reviewed = "reviewed"
    approved = "approved"
    witnessed = "witnessed"


class SignatureIn(Contract):
    """Sign a record as it is now; the password re-authenticates the signer at the moment of signing."""

    record: RecordRef  # "item:CC-0001", "step:12" or "entry:3"
    meaning: Meaning
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class SignatureOut(BaseModel):
    id: int
    record: str
    record_version: int | None
    record_sha256: str
    meaning: Meaning
    signer: str
    signer_name: str
    signer_role: str
    signed_at: datetime
    valid: bool  # false once the record has changed since it was signed
