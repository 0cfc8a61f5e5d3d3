"""Should a BDF export re-read the stored cycler file, or read records kept as parquet at upload? Measured.

For each file: the time to read and summarise the raw file (what `GET /tests/{id}/records` does now, and what
dQ/dV and profiles already do), the time to read the same records from a zstd parquet copy instead, the
parquet copy's size against the raw file's, and the time to write that copy (what every upload would pay).
The BDF table and its CSV are made from the records either way, so that step is timed once, apart.

    .venv/bin/python -m bench.bdf_storage            # the fixtures and a generated 1,000,000-record .nda
    .venv/bin/python -m bench.bdf_storage --rows 0   # the fixtures alone
"""

import argparse
import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from bench.neware_file import FIXTURES, neware_file
from schemas.cycling import TestOptions
from service.cycling import bdf
from service.cycling.logic import read_and_summarise
from service.cycling.summary import summarise

FILES = (
    "generic_csv/SINTEF__LiGrR2032__2024-04-30__25degC__Landt.csv",
    "neware_ndax/nw4-120-1-6-53.ndax",
    "neware_nda/TestFile.nda",
)


def best_of(action: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(path: Path) -> dict[str, float | int | str]:
    options = TestOptions()
    records, summary = read_and_summarise(path, options)
    kept = io.BytesIO()
    records.frame.write_parquet(kept, compression="zstd")
    blob = kept.getvalue()

    def from_parquet() -> None:
        summarise(pl.read_parquet(io.BytesIO(blob)), options.cycle_by)

    table = bdf.bdf_table(records.frame, summary, options.cycle_by).frame
    return {
        "file": path.name,
        "records": records.frame.height,
        "raw_MB": path.stat().st_size / 1e6,
        "parquet_MB": len(blob) / 1e6,
        "reread_s": best_of(lambda: read_and_summarise(path, options)),
        "parquet_read_s": best_of(from_parquet),
        "parquet_write_s": best_of(lambda: records.frame.write_parquet(io.BytesIO(), compression="zstd")),
        "bdf_csv_s": best_of(lambda: bdf.to_bytes(table, "bdf")),
        "bdf_csv_MB": len(bdf.to_bytes(table, "bdf")) / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="records of the generated .nda (0: none)")
    args = parser.parse_args()
    paths = [FIXTURES / name for name in FILES]
    if args.rows:
        paths.append(neware_file(args.rows))
    rows = [measure(path) for path in paths]
    columns = list(rows[0])
    print(" | ".join(columns))
    for row in rows:
        print(" | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()))
    saved = [float(r["reread_s"]) - float(r["parquet_read_s"]) for r in rows]
    median = statistics.median(saved)
    print(f"re-reading costs at most {max(saved):.3f} s more per export (median {median:.3f} s)")


if __name__ == "__main__":
    main()
