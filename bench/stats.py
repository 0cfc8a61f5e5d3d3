"""Summaries of timings: median and p99 in milliseconds, and ratios to a baseline."""

import statistics
from typing import Any


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def timings(seconds: list[float]) -> dict[str, Any]:
    """median and p99 (ms) of a list of durations in seconds."""
    return {
        "n": len(seconds),
        "p50_ms": round(statistics.median(seconds) * 1000, 3),
        "p99_ms": round(percentile(seconds, 0.99) * 1000, 3),
        "mean_ms": round(statistics.fmean(seconds) * 1000, 3),
    }


def ratio(value: float, baseline: float) -> float:
    return round(value / baseline, 2) if baseline else float("nan")
