"""Streaming the audit trail as JSON lines or CSV, ending with a manifest an offline verifier checks."""

import asyncio
import contextlib
import csv
import io
import json
from collections.abc import AsyncIterator, Generator, Iterator
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from schemas.events import AuditEvent, ExportManifest, canonical_json, export_line, timestamp_text
from service.audit.logic import event_batches, head, iter_events
from service.db import reading, utcnow

CSV_COLUMNS = list(AuditEvent.model_fields)
MANIFEST_KEY = "manifest"
JSONL_BATCH = 2000  # events per chunk: about 2 MB, few enough hops to the event loop, memory still flat


def _csv_cell(name: str, value: object) -> object:
    if name in ("data", "changes"):
        return canonical_json(value)
    if isinstance(value, datetime):
        return timestamp_text(value)
    return "" if value is None else value


def _jsonl_chunks(session: Session, size: int) -> Iterator[str]:
    """Each event's hashed text as stored, its hash appended: nothing is decoded or re-encoded per event."""
    for rows in event_batches(session, ["seq", "hashed_text", "hash"], upto=size, batch=JSONL_BATCH):
        yield "".join([export_line(row.hashed_text, row.hash) for row in rows])


def _csv_chunks(session: Session, size: int) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for event in iter_events(session, upto=size):
        writer.writerow([_csv_cell(name, getattr(event, name)) for name in CSV_COLUMNS])
        # Chunks, not lines: each chunk of a streamed response costs a hop to the event loop's thread.
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _manifest_line(fmt: str, manifest: ExportManifest) -> str:
    if fmt == "jsonl":
        return json.dumps({MANIFEST_KEY: manifest.model_dump(mode="json")}) + "\n"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(["#" + MANIFEST_KEY, manifest.model_dump_json()])
    return buffer.getvalue()


def stream(engine: Engine, fmt: str, exported_by: str) -> Generator[str, None, None]:
    """Every event up to the head as it was when the export began, then the manifest line. Events are read
    in batches by a session of the stream's own, so memory stays flat however long the trail is."""
    with reading(engine) as session:
        size, head_hash = head(session)
        yield from (_jsonl_chunks if fmt == "jsonl" else _csv_chunks)(session, size)
        manifest = ExportManifest(
            count=size, head_hash=head_hash, exported_at=utcnow(), exported_by=exported_by
        )
        yield _manifest_line(fmt, manifest)


async def stream_overlapped(engine: Engine, fmt: str, exported_by: str) -> AsyncIterator[str]:
    """stream(), reading the next batch from the database while the current one is being sent: the two
    take about as long as each other, so the export takes about half the time. At most two batches are in
    memory."""
    loop = asyncio.get_running_loop()
    chunks = stream(engine, fmt, exported_by)
    pending = loop.run_in_executor(None, next, chunks, None)
    try:
        while (chunk := await pending) is not None:
            pending = loop.run_in_executor(None, next, chunks, None)
            yield chunk
    finally:
        # The client may have gone: let the batch being read finish, then close the stream's session.
        with contextlib.suppress(Exception):
            await pending
        await loop.run_in_executor(None, chunks.close)
