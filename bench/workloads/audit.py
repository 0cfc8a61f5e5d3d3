"""Audit export (events/s, server peak memory) and chain verification, vs SHA-256 over the same bytes.

Exports: the best of three (one in --quick) and, separately, the first, which meets cold caches.

Offline verification is timed as `cellprov audit verify FILE` runs it, file reading included, against
SHA-256 of every event line read from the same file; the two are also compared on lines in memory."""

import hashlib
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.context import Context
from bench.server import PeakRss
from bench.stats import ratio
from clients.audit_file import READ_BATCH, verify_export
from schemas.events import ChainVerifier


def _download(ctx: Context, path: Path) -> tuple[int, int, float]:
    """One export to `path`: its events, its bytes and the seconds it took."""
    lines = size = 0
    with ctx.client() as client, path.open("wb") as out:
        started = time.perf_counter()
        with client.stream("GET", "/audit/export", params={"format": "jsonl"}) as response:
            assert response.status_code == 200
            for chunk in response.iter_bytes(1 << 20):
                out.write(chunk)
                size += len(chunk)
                lines += chunk.count(b"\n")
        elapsed = time.perf_counter() - started
    return lines - 1, size, elapsed  # the manifest line is no event


def _export(ctx: Context, path: Path, rounds: int) -> dict[str, Any]:
    """The first export of a fresh server (cold caches, first connections) and the best of `rounds`."""
    with PeakRss(ctx.server_pid) as rss:
        runs = [_download(ctx, path) for _ in range(rounds)]
    events, size, _ = runs[-1]  # each export adds its own event: the file on disk is the last one
    first = runs[0][0] / runs[0][2]
    best = max(run[0] / run[2] for run in runs)
    return {
        "events": events,
        "mib": round(size / 2**20, 1),
        "seconds": round(min(run[2] for run in runs), 2),
        "events_per_s": round(best),
        "first_events_per_s": round(first),
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


def _sha_per_event(path: Path) -> float:
    """The baseline: read the file as the verifier does and take SHA-256 of every event line."""
    started = time.perf_counter()
    with path.open("rb") as source:
        while lines := source.readlines(READ_BATCH):
            for line in lines:
                hashlib.sha256(line).hexdigest()
    return time.perf_counter() - started


def _verify_offline(path: Path) -> tuple[float, bool]:
    """What `cellprov audit verify FILE` does, file reading included."""
    started = time.perf_counter()
    check, _ = verify_export(path)
    return time.perf_counter() - started, check.ok


def _in_memory(path: Path, rounds: int) -> tuple[float, float]:
    """The same two on the event lines already in memory (no file reading on either side), best of each."""
    with path.open("rb") as source:
        lines = [line for line in source if not line.startswith(b'{"manifest"')]
    sha_s = verify_s = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for line in lines:
            hashlib.sha256(line).hexdigest()
        sha_s = min(sha_s, time.perf_counter() - started)
        started = time.perf_counter()
        verifier = ChainVerifier()
        verifier.add_lines(lines)
        verify_s = min(verify_s, time.perf_counter() - started)
        assert verifier.result().ok
    return sha_s, verify_s


def _best_of(rounds: int, path: Path) -> tuple[float, float, bool]:
    """Baseline and verifier taken in turns, the best of each: the machine is shared, and the best of a few
    runs is the least disturbed."""
    sha_s = offline_s = float("inf")
    ok = True
    for _ in range(rounds):
        sha_s = min(sha_s, _sha_per_event(path))
        seconds, ok = _verify_offline(path)
        offline_s = min(offline_s, seconds)
    return sha_s, offline_s, ok


def audit_trail(ctx: Context) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "audit.jsonl"
        rounds = 1 if ctx.quick else 3
        export = _export(ctx, path, rounds)
        export["sha256_file_s"] = round(_sha_of_file(path), 3)
        export["sha256_events_per_s"] = round(export["events"] / export["sha256_file_s"])
        export["ratio_to_sha256"] = ratio(export["events_per_s"], export["sha256_events_per_s"])
        events = export["events"]
        sha_s, offline_s, ok = _best_of(rounds, path)
        sha_in_memory_s, verify_in_memory_s = _in_memory(path, rounds)
    online_s = float("inf")
    with ctx.client() as client:
        for _ in range(rounds):
            started = time.perf_counter()
            check = client.get("/audit/verify").json()
            online_s = min(online_s, time.perf_counter() - started)
    sha_rate = events / sha_s
    verify = {
        "events": events,
        "sha256_per_event_per_s": round(sha_rate),
        "offline_ok": ok,
        "offline_events_per_s": round(events / offline_s),
        "offline_ratio_to_sha256": ratio(events / offline_s, sha_rate),
        "in_memory_ratio_to_sha256": ratio(sha_in_memory_s, verify_in_memory_s),
        "online_ok": check["ok"],
        "online_events_per_s": round(check["size"] / online_s),
        "online_ratio_to_sha256": ratio(check["size"] / online_s, sha_rate),
    }
    return {"export": export, "verify": verify}


WORKLOADS = {"audit": audit_trail}
