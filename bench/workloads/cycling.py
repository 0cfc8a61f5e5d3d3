"""Cycler ingestion (rows/s) of a large generated Neware file over HTTP, vs fastnda reading it alone.

The file (bench/neware_file.py: a real BTS 9 test repeated to about a million records) is uploaded as a lab
member would: `POST /items/{cell}/tests` with the file and a test protocol, timed until the response, by
which the records are read, summarised per cycle, and the test run, its cycles and metrics committed. The
baseline is `fastnda.read` of the same file in the bench process, the reader the service itself uses.
"""

import statistics
import time
from pathlib import Path
from typing import Any

import fastnda
import httpx

from bench.context import Context
from bench.generate import cell_code
from bench.neware_file import FIXTURES, SOURCE, neware_file
from bench.server import PeakRss

PROTOCOL = "lfp-li-cycling@1"
ROWS = 1_000_000


def _read_alone(path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    # fastnda's plain read, as a lab script would call it (the service asks for raw step-type codes, which
    # spares fastnda naming them; the baseline keeps the call a user makes).
    frame = fastnda.read(path, cycle_mode="raw")
    return time.perf_counter() - started, frame.height


def _upload(client: httpx.Client, path: str, file: Path, data: dict[str, str]) -> tuple[float, dict]:
    with file.open("rb") as content:
        started = time.perf_counter()
        response = client.post(path, files={"file": (file.name, content)}, data=data)
        body = response.content
        elapsed = time.perf_counter() - started
    assert response.status_code in (200, 201), body[:500]
    return elapsed, response.json()


def _rate(rows: int, seconds: float) -> int:
    return round(rows / seconds)


def ingestion(ctx: Context) -> dict[str, Any]:
    if not (FIXTURES / SOURCE).is_file():
        return {"skipped": f"the cycler fixture {FIXTURES / SOURCE} is missing (set CELLPROV_FIXTURES)"}
    repeats = 3 if ctx.quick else 5
    file = neware_file(ROWS)
    reads, uploads, files_only = [], [], []
    with ctx.client() as client, PeakRss(ctx.server_pid) as rss:
        # The first round warms the page cache, imports and the server's caches; it is not counted. Each
        # round reads, uploads and ingests in turn, so a busy spell on the machine weighs on all three.
        for _ in range(repeats + 1):
            seconds, rows = _read_alone(file)
            reads.append(seconds)
            files_only.append(_upload(client, "/files", file, {})[0])
            cell = cell_code(ctx.rng.randint(1, ctx.shape.cells))
            seconds, run = _upload(client, f"/items/{cell}/tests", file, {"protocol": PROTOCOL})
            uploads.append(seconds)
        stored = client.get(f"/tests/{run['id']}/cycles").json()
    assert run["record_count"] == rows and len(stored) == run["cycle_count"], run
    fastnda_s = statistics.median(reads[1:])
    ingest_s = statistics.median(uploads[1:])
    files_s = statistics.median(files_only[1:])
    return {
        "rows": rows,
        "mib": round(file.stat().st_size / 2**20, 1),
        "cycles": run["cycle_count"],
        "repeats": repeats,
        "fastnda_s": round(fastnda_s, 3),
        "fastnda_rows_per_s": _rate(rows, fastnda_s),
        "ingest_s": round(ingest_s, 3),
        "ingest_rows_per_s": _rate(rows, ingest_s),
        "ingest_runs_s": [round(s, 3) for s in uploads],
        "fastnda_runs_s": [round(s, 3) for s in reads],
        "upload_only_s": round(files_s, 3),
        "upload_only_rows_per_s": _rate(rows, files_s),
        # How many times longer than fastnda alone (the target: ≤ 1.5).
        "ratio_to_fastnda": round(ingest_s / fastnda_s, 2),
        "server_rss_mib_before": round(rss.before, 1),
        "server_rss_mib_peak": round(rss.peak, 1),
    }


WORKLOADS = {"cycler_ingestion": ingestion}
