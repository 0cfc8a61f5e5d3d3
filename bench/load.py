"""Loading a generated history through POST /api/v1/import, in NDJSON batches, timed."""

import json
import time
from typing import Any

import httpx

from bench.generate import batches, cycler_file

BATCH = 2000  # operations per import request (one transaction each)


def load(
    url: str, token: str, operations: list[dict[str, Any]], items: int, nodes: int, progress: bool = True
) -> dict:
    """POST the operations in batches. items/s counts every lot received and item made; nodes/s counts the
    test runs and analyses too (each is one operation, like a step)."""
    headers = {"Authorization": f"Bearer {token}"}
    events = 0
    started = time.perf_counter()
    with httpx.Client(base_url=url + "/api/v1", headers=headers, timeout=3600) as client:
        # The cycler file the generated test runs name, stored once as a lab member would upload it.
        client.post("/files", files={"file": ("bench-cycling.csv", cycler_file())}).raise_for_status()
        for n, batch in enumerate(batches(operations, BATCH)):
            body = "\n".join(json.dumps(op, ensure_ascii=False) for op in batch).encode()
            response = client.post("/import", content=body, headers={"Content-Type": "application/x-ndjson"})
            if response.status_code != 201:
                raise RuntimeError(f"import batch {n} refused: {response.text[:2000]}")
            events += response.json()["events"]
            if progress:
                done = min((n + 1) * BATCH, len(operations))
                rate = done / (time.perf_counter() - started)
                print(f"  imported {done}/{len(operations)} operations ({rate:.0f} ops/s)", flush=True)
    elapsed = time.perf_counter() - started
    return {
        "operations": len(operations),
        "items": items,
        "audit_events": events,
        "seconds": round(elapsed, 1),
        "items_per_s": round(items / elapsed),
        "nodes": nodes,
        "nodes_per_s": round(nodes / elapsed),
        "operations_per_s": round(len(operations) / elapsed),
        "batch": BATCH,
    }
