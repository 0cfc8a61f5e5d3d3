"""Streaming the audit trail as JSON lines or CSV, ending with a manifest an offline verifier checks."""

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Engine

from schemas.events import AuditEvent, ExportManifest, canonical_json, timestamp_text
from service.audit.logic import head, iter_events
from service.db import open_session, utcnow

CSV_COLUMNS = list(AuditEvent.model_fields)
MANIFEST_KEY = "manifest"


def _csv_cell(name: str, value: object) -> object:
    if name in ("data", "changes"):
        return canonical_json(value)
    if isinstance(value, datetime):
        return timestamp_text(value)
    return "" if value is None else value


def stream(engine: Engine, fmt: str, exported_by: str) -> Iterator[str]:
    """Every event up to the head as it was when the export began, then the manifest line. Events are read
    in batches by a session of the stream's own, so memory stays flat however long the trail is."""
    with open_session(engine, write=False) as session:
        size, head_hash = head(session)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if fmt == "csv":
            writer.writerow(CSV_COLUMNS)
        for event in iter_events(session):
            if event.seq > size:
                break
            if fmt == "jsonl":
                buffer.write(event.model_dump_json())
                buffer.write("\n")
            else:
                writer.writerow([_csv_cell(name, getattr(event, name)) for name in CSV_COLUMNS])
            # Chunks, not lines: each chunk of a streamed response costs a hop to the event loop's thread.
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        manifest = ExportManifest(
            count=size, head_hash=head_hash, exported_at=utcnow(), exported_by=exported_by
        )
        if fmt == "jsonl":
            buffer.write(json.dumps({MANIFEST_KEY: manifest.model_dump(mode="json")}) + "\n")
        else:
            writer.writerow(["#" + MANIFEST_KEY, manifest.model_dump_json()])
        yield buffer.getvalue()
