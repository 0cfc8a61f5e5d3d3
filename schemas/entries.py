"""Notebook entries: Markdown written by a person, linked to records, with attached files; versioned."""

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, model_validator

from schemas.common import Contract, Reason
from schemas.signatures import SignatureOut

# "item:CC-0001", "step:12"; test runs and analyses join as "test_run:ID" and "analysis:ID".
LinkRef = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z_]{0,31}:[A-Za-z0-9._-]{1,64}$")
]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
MarkdownText = Annotated[str, StringConstraints(max_length=100_000)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
FileName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
MediaType = Annotated[str, StringConstraints(pattern=r"^[\w.+-]+/[\w.+-]+$", max_length=127)]


class AttachmentRef(Contract):
    """A file already in the store, attached by its SHA-256 under a name."""

    sha256: Sha256
    name: FileName
    media_type: MediaType = "application/octet-stream"


class Attachment(BaseModel):
    sha256: str
    name: str
    media_type: str
    size: int


class EntryIn(Contract):
    """A new entry. Uploaded files (multipart) are added to `attachments`; the author comes from the token."""

    title: Title
    body: MarkdownText = ""
    date: dt.date | None = None  # the day the work happened; default today (UTC)
    tags: Annotated[list[Tag], Field(max_length=30)] = []
    links: Annotated[list[LinkRef], Field(max_length=200)] = []
    attachments: Annotated[list[AttachmentRef], Field(max_length=50)] = []


class EntryPatch(Contract):
    """A correction: every field given replaces the current value (lists are replaced whole)."""

    reason: Reason
    title: Title | None = None
    body: MarkdownText | None = None
    date: dt.date | None = None
    tags: Annotated[list[Tag], Field(max_length=30)] | None = None
    links: Annotated[list[LinkRef], Field(max_length=200)] | None = None
    attachments: Annotated[list[AttachmentRef], Field(max_length=50)] | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> "EntryPatch":
        given = self.model_fields_set - {"reason"}
        if not given:
            raise ValueError("a correction must change at least one field besides the reason")
        for field in sorted(given):
            if getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null; send the new value")
        return self


class EntryOut(BaseModel):
    id: int
    version: int
    status: str  # active or voided
    title: str
    body: str
    date: dt.date
    tags: list[str]
    links: list[str]  # the records it is about: "item:CC-0001", "step:12"
    attachments: list[Attachment]
    author: str
    author_name: str
    created_at: dt.datetime
    updated_at: dt.datetime
    void_reason: str | None
    signatures: list[SignatureOut] | None = None  # on GET /entries/{id}; never part of what is signed


class EntryRef(BaseModel):
    """An entry named in another answer (the lineage of an item)."""

    id: int
    title: str
    date: dt.date
    author: str


class EntryVersion(BaseModel):
    version: int
    action: str
    at: dt.datetime
    by: str
    reason: str | None
    changes: dict[str, dict[str, Any]]
    state: dict[str, Any]
    signatures: list[SignatureOut] = []
