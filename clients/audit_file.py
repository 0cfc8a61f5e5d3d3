"""Verifying an audit export offline: recompute its hash chain and check it against its manifest line."""

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError

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


def _what_is_wrong(path: Path, exc: Exception) -> str:
    """Why a file is not an export, in a sentence a person can act on (not a validator's field dump)."""
    with path.open("rb") as handle:
        first = next((line for line in handle if line.strip()), b"").strip()
    if not first:
        return "the file is empty"
    shown = first[:60].decode("utf-8", "replace") + ("…" if len(first) > 60 else "")
    if not first.startswith((b"{", b"seq,")):
        return f"its first line is not an audit event in JSON or CSV: it reads {shown!r}"
    if isinstance(exc, ValidationError):
        errors = exc.errors()
        if any(error["type"] == "json_invalid" for error in errors):
            return "a line of it is not JSON (an export holds one JSON event per line)"
        missing = [str(error["loc"][0]) for error in errors if error["type"] == "missing" and error["loc"]]
        if missing:
            return f"a line of it is not an audit event: it has no {', '.join(missing[:4])}" + (
                " and more" if len(missing) > 4 else ""
            )
        error = errors[0]
        where = ".".join(str(part) for part in error["loc"])
        return f"an event's {where} is not valid: {error['msg']}"
    if isinstance(exc, KeyError):
        return f"a line of it has no {exc.args[0]!r} column or field"
    return str(exc)


def verify_export(path: Path) -> tuple[ChainCheck, ExportManifest | None]:
    """Recompute the chain of an export from /audit/export (JSON lines or CSV); a file cut short, edited or
    reordered fails, and so does one whose last line is not the manifest of exactly these events."""
    verifier = ChainVerifier()
    if path.stat().st_size == 0:
        raise ExportFileError(f"{path} is not a cellprov audit export: the file is empty")
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
    except ExportFileError as exc:
        raise ExportFileError(f"{path} is not a complete cellprov audit export: {exc}") from exc
    except (ValueError, KeyError, IndexError) as exc:
        raise ExportFileError(
            f"{path} is not a cellprov audit export: {_what_is_wrong(path, exc)}. "
            "Write one with `cellprov audit export -o FILE`."
        ) from exc
    if not manifests:
        check = verifier.result()
        problem = "no manifest line: the export is incomplete"
        return check.model_copy(update={"ok": False, "problem": check.problem or problem}), None
    manifest = manifests[-1]
    return verifier.result(expected_size=manifest.count, expected_head=manifest.head_hash), manifest
