"""The answer of `POST /import/eln`: what each entity of the archive became, or why it was skipped."""

from typing import Literal

from pydantic import BaseModel, Field


class ElnEntity(BaseModel):
    id: str
    """The entity's @id in the archive."""
    type: str
    became: Literal[
        "entry", "attachment", "data", "skipped", "item", "step", "test_run", "analysis", "file", "existing"
    ]
    """entry: a notebook entry; attachment: a file attached to the entry of its dataset; data: kept inside
    the entries that name it (people, organisations, property values); skipped: not imported (see reason).
    On the round trip of a cellprov archive: item, step, test_run, analysis, entry, file (the record it
    became), or existing (the same record is here already and is left as it is)."""
    entry: str | None = None
    """The entry it became or went into: `entry:12` (after an import; absent on a dry run)."""
    record: str | None = None
    """On the round trip, the record on this server: `item:CC-0001`, `step:4`, `test_run:2`, ... (absent on a
    dry run for what would be new: its id is only given when it is written)."""
    reason: str = ""


class ElnImportOut(BaseModel):
    archive_sha256: str
    dry_run: bool
    already_imported: bool
    """True when this archive (same SHA-256) was imported before: nothing was created again."""
    path: Literal["entries", "records"] = "entries"
    """entries: any archive, each dataset as a notebook entry; records: an archive cellprov exported,
    recreated as the same items, steps, test runs, analyses and entries (the round trip)."""
    entries: int
    """Entries created (or, on a dry run, that would be)."""
    attachments: int
    created: dict[str, int] = Field(default_factory=dict)
    """On the round trip: records created (or that would be) by kind: items, steps, test_runs, ..."""
    existing: dict[str, int] = Field(default_factory=dict)
    """On the round trip: records the archive holds that are here already (left as they are)."""
    entities: list[ElnEntity]
