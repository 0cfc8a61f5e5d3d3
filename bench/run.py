"""`python -m bench`: build (once) and measure the bench databases, write bench/results/<date>-<scale>.*"""

import argparse
import json
import os
import platform
import random
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench import database, report
from bench.context import Context
from bench.generate import SEED, Shape, generate
from bench.load import load
from bench.server import serve
from bench.workloads import audit, cycling, exports, lineage, steps
from service import migrate
from service.config import Settings
from service.db import make_engine

SCALES = {"1k": 1_000, "10k": 10_000, "100k": 100_000}
RESULTS = Path(__file__).parent / "results"
WORKLOADS = {
    **lineage.WORKLOADS,
    **exports.WORKLOADS,
    **steps.WORKLOADS,
    **audit.WORKLOADS,
    **cycling.WORKLOADS,
}
GENERATOR_VERSION = 2  # 2: test runs and analyses are made, not planned


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "os": platform.platform(),
        "sqlite_library": sqlite3.sqlite_version,
        # Other work on the machine while the run started: figures from a busy machine are pessimistic.
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def prepare(engine_name: str, scale: str, rebuild: bool) -> tuple[database.BenchDatabase, dict[str, Any]]:
    """The bench database for this scale, built by importing the generated history unless already there."""
    db = database.locate(
        engine_name,
        scale,
        os.environ.get("BENCH_PG_URL", database.PG_BASE),
        os.environ.get("BENCH_DB_PREFIX", "cellprov_bench"),
    )
    marker = db.loaded()
    wanted = {"cells": SCALES[scale], "seed": SEED, "generator": GENERATOR_VERSION}
    if marker and not rebuild and all(marker.get(k) == v for k, v in wanted.items()):
        print(f"[{engine_name} {scale}] reusing the database built {marker['built_at']}", flush=True)
        # Built by an older revision of the service: brought to head as a lab's database would be.
        migrate.upgrade(Settings(database_url=db.url).sqlalchemy_url)
        return db, marker
    print(f"[{engine_name} {scale}] building the database", flush=True)
    shape, operations = generate(SCALES[scale], SEED)
    database.recreate(db)
    token = database.issue_token(db)
    with serve("service.app:create_app", {"CELLPROV_DATABASE_URL": db.url}) as server:
        imported = load(server.url, token, operations, shape.items_total, shape.as_dict()["nodes"])
    marker = {**wanted, "built_at": datetime.now(UTC).isoformat(timespec="seconds"), "import": imported}
    marker["shape"] = shape.as_dict()
    db.marker.write_text(json.dumps(marker, indent=1, ensure_ascii=False))
    return db, marker


def measure(engine_name: str, scale: str, quick: bool, rebuild: bool, only: list[str]) -> dict[str, Any]:
    db, marker = prepare(engine_name, scale, rebuild)
    shape_dict = marker["shape"]
    shape = Shape(cells=shape_dict["cells"])
    token = database.issue_token(db)
    engine = make_engine(Settings(database_url=db.url))
    result: dict[str, Any] = {
        "database": engine_name,
        "server_version": database.server_version(db),
        "shape": shape_dict,
        "import": {**marker["import"], "built_at": marker["built_at"]},
    }
    with serve("service.app:create_app", {"CELLPROV_DATABASE_URL": db.url}) as server:
        ctx = Context(
            engine_name, server.url, token, engine, shape, quick, random.Random(SEED), server.pid, db.url
        )
        for name, workload in WORKLOADS.items():
            if only and name not in only:
                continue
            print(f"[{engine_name} {scale}] {name}", flush=True)
            started = time.perf_counter()
            result[name] = workload(ctx)
            result[name]["wall_s"] = round(time.perf_counter() - started, 1)
    engine.dispose()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=SCALES, action="append", help="repeatable; default 1k and 10k")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], action="append", help="default both")
    parser.add_argument("--quick", action="store_true", help="1k cells, fewer repetitions: a few minutes")
    parser.add_argument("--rebuild", action="store_true", help="regenerate and re-import the databases")
    parser.add_argument("--only", action="append", default=[], choices=list(WORKLOADS))
    args = parser.parse_args(argv)
    scales = args.scale or (["1k"] if args.quick else ["1k", "10k"])
    engines = args.db or ["sqlite", "postgresql"]
    RESULTS.mkdir(exist_ok=True)
    date = datetime.now(UTC).strftime("%Y-%m-%d")
    for scale in scales:
        run: dict[str, Any] = {
            "scale": scale,
            "quick": args.quick,
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "results": {},
        }
        stem = (
            RESULTS
            / f"{date}-{scale}{'-quick' if args.quick else ''}{'-' + engines[0] if len(engines) == 1 else ''}"
        )
        for name in engines:
            run["results"][name] = measure(name, scale, args.quick, args.rebuild, args.only)
            # Written after each database, so a long run interrupted later keeps what it measured.
            stem.with_suffix(".json").write_text(json.dumps(run, indent=1, ensure_ascii=False) + "\n")
            stem.with_suffix(".md").write_text(report.markdown(run))
        print(report.markdown(run))
        print(f"wrote {stem}.json and .md", file=sys.stderr)
