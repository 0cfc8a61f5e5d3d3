"""Verifying an audit export offline: recompute its hash chain and check it against its manifest line."""

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from schemas.events import AuditEvent, ChainCheck, ChainVerifier, ExportManifest

MANIFEST_KEY = "manifest"
MANIFEST_LINE = b'{"manifest"'
READ_BATCH = 1 << 18  # bytes of lines per batch: memory stays flat on any file


class ExportFileError(ValueError):
    pass


def _verify_jsonl(handle: BinaryIO, verifier: ChainVerifier) -> list[ExportManifest]:
    """Feed the events to the verifier a batch of lines at a time, reading the manifest where it stands."""
    found: list[ExportManifest] = []
    while lines := handle.readlines(READ_BATCH):
        while lines and not lines[-1].strip():
            lines.pop()
        if found and any(line.strip() for line in lines):
            raise ExportFileError("events after the manifest")
        if lines[-1].startswith(MANIFEST_LINE):
            found.append(ExportManifest.model_validate(json.loads(lines.pop())[MANIFEST_KEY]))
        verifier.add_lines(lines)
    return found


def _csv_event(row: dict[str, str]) -> AuditEvent:
    fields: dict[str, Any] = {name: (value if value != "" else None) for name, value in row.items()}
    fields["data"] = json.loads(row["data"])
    fields["changes"] = json.loads(row["changes"])
    return AuditEvent.model_validate(fields)


def _csv(lines: Iterable[str], found: list[ExportManifest]) -> Iterator[AuditEvent]:
    for row in csv.DictReader(lines):
        if row["seq"] == "#" + MANIFEST_KEY:
            found.append(ExportManifest.model_validate_json(row["at"]))
            continue
        if found:
            raise ExportFileError("events after the manifest")
        yield _csv_event(row)


def verify_export(path: Path) -> tuple[ChainCheck, ExportManifest | None]:
    """Recompute the chain of an export from /audit/export (JSON lines or CSV); a file cut short, edited or
    reordered fails, and so does one whose last line is not the manifest of exactly these events."""
    verifier = ChainVerifier()
    try:
        with path.open("rb") as raw:
            if raw.readline().startswith(b"seq,"):
                with path.open(encoding="utf-8", newline="") as handle:
                    manifests: list[ExportManifest] = []
                    for event in _csv(handle, manifests):
                        verifier.add(event)
            else:
                raw.seek(0)
                manifests = _verify_jsonl(raw, verifier)
    except (ValueError, KeyError) as exc:
        raise ExportFileError(f"{path} is not a cellprov audit export: {exc}") from exc
    if not manifests:
        check = verifier.result()
        problem = "no manifest line: the export is incomplete"
        return check.model_copy(update={"ok": False, "problem": check.problem or problem}), None
    manifest = manifests[-1]
    return verifier.result(expected_size=manifest.count, expected_head=manifest.head_hash), manifest
