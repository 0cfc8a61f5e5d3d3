"""Audit export (events/s, server peak memory) and chain verification, vs SHA-256 over the same bytes."""

import hashlib
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.context import Context
from bench.server import PeakRss
from bench.stats import ratio
from schemas.events import AuditEvent, ChainVerifier


def _export(ctx: Context, path: Path) -> dict[str, Any]:
    lines = size = 0
    with ctx.client() as client, PeakRss(ctx.server_pid) as rss, path.open("wb") as out:
        started = time.perf_counter()
        with client.stream("GET", "/audit/export", params={"format": "jsonl"}) as response:
            assert response.status_code == 200
            for chunk in response.iter_bytes(1 << 20):
                out.write(chunk)
                size += len(chunk)
                lines += chunk.count(b"\n")
        elapsed = time.perf_counter() - started
    events = lines - 1  # the manifest line
    return {
        "events": events,
        "mib": round(size / 2**20, 1),
        "seconds": round(elapsed, 2),
        "events_per_s": round(events / elapsed),
        "server_rss_mib_before": round(rss.before, 1),
        "server_rss_mib_peak": round(rss.peak, 1),
    }


def _sha_of_file(path: Path) -> float:
    started = time.perf_counter()
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return time.perf_counter() - started


def _event_lines(path: Path) -> list[bytes]:
    with path.open("rb") as source:
        return [line for line in source if not line.startswith(b'{"manifest"')]


def _sha_per_event(lines: list[bytes]) -> float:
    started = time.perf_counter()
    for line in lines:
        hashlib.sha256(line).hexdigest()
    return time.perf_counter() - started


def _verify_offline(lines: list[bytes]) -> tuple[float, bool]:
    """What `cellprov audit verify FILE` does: parse each event, re-hash it, follow the chain."""
    started = time.perf_counter()
    verifier = ChainVerifier()
    for line in lines:
        verifier.add(AuditEvent.model_validate_json(line))
    return time.perf_counter() - started, verifier.result().ok


def audit_trail(ctx: Context) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "audit.jsonl"
        export = _export(ctx, path)
        export["sha256_file_s"] = round(_sha_of_file(path), 3)
        export["sha256_events_per_s"] = round(export["events"] / export["sha256_file_s"])
        export["ratio_to_sha256"] = ratio(export["events_per_s"], export["sha256_events_per_s"])
        lines = _event_lines(path)
    sha_s = _sha_per_event(lines)
    offline_s, ok = _verify_offline(lines)
    with ctx.client() as client:
        started = time.perf_counter()
        check = client.get("/audit/verify").json()
        online_s = time.perf_counter() - started
    sha_rate = len(lines) / sha_s
    verify = {
        "events": len(lines),
        "sha256_per_event_per_s": round(sha_rate),
        "offline_ok": ok,
        "offline_events_per_s": round(len(lines) / offline_s),
        "offline_ratio_to_sha256": ratio(len(lines) / offline_s, sha_rate),
        "online_ok": check["ok"],
        "online_events_per_s": round(check["size"] / online_s),
        "online_ratio_to_sha256": ratio(check["size"] / online_s, sha_rate),
    }
    return {"export": export, "verify": verify}


WORKLOADS = {"audit": audit_trail}
