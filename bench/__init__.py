"""Benchmarks at lab scale: a generated lab history, loaded through POST /import, and timed workloads."""
