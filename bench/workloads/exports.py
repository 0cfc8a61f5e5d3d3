"""The recall export of a FeCl3 lot (everything downstream, as `.eln` and as PROV-JSON): seconds, size and
the server's peak memory, beside the same lot's whole lineage answer over HTTP (the bare endpoint it builds
on)."""

import time
from collections.abc import Callable
from typing import Any

from bench.context import Context
from bench.generate import LOTS_PER_KIND, lot_code
from bench.server import PeakRss
from bench.stats import ratio


def _download(ctx: Context, path: str, params: dict[str, str]) -> tuple[int, float]:
    """Bytes and seconds of one streamed GET, the body read and dropped as it arrives."""
    size = 0
    with ctx.client() as client:
        started = time.perf_counter()
        with client.stream("GET", path, params=params) as response:
            assert response.status_code == 200, response.read()[:500]
            for chunk in response.iter_bytes(1 << 20):
                size += len(chunk)
        return size, time.perf_counter() - started


def recall_export(ctx: Context) -> dict[str, Any]:
    lot = lot_code("FeCl3·6H2O", ctx.rng.randint(1, LOTS_PER_KIND))
    down = {"direction": "down"}
    with ctx.client() as client:
        listed = client.get(f"/items/{lot}/lineage", params={**down, "kind": "cell", "include": "nodes"})
        cells = len(listed.json()["nodes"])
    answer_bytes, answer_s = _download(ctx, f"/items/{lot}/lineage", down)
    result: dict[str, Any] = {"lot": lot, "cells": cells, "answer_mib": round(answer_bytes / 2**20, 2)}
    result["answer_s"] = round(answer_s, 3)
    for name, params in (("eln", {**down, "format": "eln"}), ("prov_json", {**down, "format": "prov-json"})):
        with PeakRss(ctx.server_pid) as rss:
            size, seconds = _download(ctx, f"/items/{lot}/export", params)
        result[name] = {
            "mib": round(size / 2**20, 2),
            "seconds": round(seconds, 3),
            "times_the_answer": ratio(seconds, answer_s),
            "server_rss_mib_before": round(rss.before, 1),
            "server_rss_mib_peak": round(rss.peak, 1),
        }
    return result


WORKLOADS: dict[str, Callable[[Context], dict[str, Any]]] = {"recall_export": recall_export}
