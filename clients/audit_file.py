"""Verifying an audit export offline: recompute its hash chain and check it against its manifest line."""

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from schemas.events import AuditEvent, ChainCheck, ChainVerifier, ExportManifest

MANIFEST_KEY = "manifest"


class ExportFileError(ValueError):
    pass


def _jsonl(lines: Iterable[str], found: list[ExportManifest]) -> Iterator[AuditEvent]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        if MANIFEST_KEY in record:
            found.append(ExportManifest.model_validate(record[MANIFEST_KEY]))
            continue
        if found:
            raise ExportFileError(f"line {number}: events after the manifest")
        yield AuditEvent.model_validate(record)


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
    manifests: list[ExportManifest] = []
    verifier = ChainVerifier()
    with path.open(encoding="utf-8", newline="") as handle:
        first = handle.readline()
        handle.seek(0)
        events = _csv(handle, manifests) if first.startswith("seq,") else _jsonl(handle, manifests)
        try:
            for event in events:
                verifier.add(event)
        except (ValueError, KeyError) as exc:
            raise ExportFileError(f"{path} is not a cellprov audit export: {exc}") from exc
    if not manifests:
        check = verifier.result()
        problem = "no manifest line: the export is incomplete"
        return check.model_copy(update={"ok": False, "problem": check.problem or problem}), None
    manifest = manifests[-1]
    return verifier.result(expected_size=manifest.count, expected_head=manifest.head_hash), manifest
