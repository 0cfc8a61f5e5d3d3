"""The answer of `POST /import/eln`: what each entity of the archive became, or why it was skipped."""

from typing import Literal

from pydantic import BaseModel


class ElnEntity(BaseModel):
    id: str
    """The entity's @id in the archive."""
    type: str
    became: Literal["entry", "attachment", "data", "skipped"]
    """entry: a notebook entry; attachment: a file attached to the entry of its dataset; data: kept inside
    the entries that name it (people, organisations, property values); skipped: not imported (see reason)."""
    entry: str | None = None
    """The entry it became or went into: `entry:12` (after an import; absent on a dry run)."""
    reason: str = ""


class ElnImportOut(BaseModel):
    archive_sha256: str
    dry_run: bool
    already_imported: bool
    """True when this archive (same SHA-256) was imported before: nothing was created again."""
    entries: int
    """Entries created (or, on a dry run, that would be)."""
    attachments: int
    entities: list[ElnEntity]
