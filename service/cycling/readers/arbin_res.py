"""Arbin MITS Pro `.res` result files: a Microsoft Access (Jet) database, read with access-parser (pure
Python, Apache-2.0, no mdbtools).

The records are in `Channel_Normal_Table` (the columns of Arbin's CSV export: SI units, charge and discharge
capacity counters that reset each cycle), the test's name, schedule and channel in `Global_Table`. A file may
hold several tests (`Test_ID`); the first is read and a note says so.
"""

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import polars as pl
from access_parser import AccessParser

from service.cycling.readers import (
    ReadOptions,
    Records,
    UnreadableFile,
    canonical,
)
from service.cycling.readers.arbin_csv import from_counters

FORMAT = "arbin_res"
RECORDS = "Channel_Normal_Table"
NEEDED = ("Test_ID", "Data_Point", "Test_Time", "Step_Index", "Cycle_Index", "Current", "Voltage")
COUNTERS = ("Charge_Capacity", "Discharge_Capacity", "Charge_Energy", "Discharge_Energy")


def _parser_version() -> str:
    try:
        return version("access-parser")
    except PackageNotFoundError:
        return "unknown"


def _table(database: Any, name: str) -> dict[str, list[Any]]:
    """One table as columns (name -> values)."""
    return {str(column): list(values) for column, values in database.parse_table(name).items()}


def read(path: Path, options: ReadOptions) -> Records:
    parser_version = _parser_version()
    try:
        database = AccessParser(str(path))
        tables = set(database.catalog)
        if RECORDS not in tables:
            raise UnreadableFile(
                FORMAT, f"an Access database without Arbin's {RECORDS} (tables: {sorted(tables)[:8]})"
            )
        columns = _table(database, RECORDS)
        settings = _table(database, "Global_Table") if "Global_Table" in tables else {}
    except UnreadableFile:
        raise
    except Exception as exc:  # access-parser signals a damaged page with several unrelated exception types
        raise UnreadableFile(
            FORMAT, f"access-parser {parser_version} cannot decode it ({type(exc).__name__}: {exc})"
        ) from None
    missing = [name for name in NEEDED + COUNTERS[:2] if name not in columns]
    if missing:
        raise UnreadableFile(FORMAT, f"{RECORDS} lacks the Arbin columns {missing}")
    raw = pl.DataFrame(
        {name: columns[name] for name in NEEDED + COUNTERS if name in columns},
        schema_overrides={name: pl.Float64 for name in ("Test_Time", "Current", "Voltage", *COUNTERS)},
        strict=False,
    )
    notes: list[str] = []
    tests = raw.get_column("Test_ID").unique().sort().to_list()
    if len(tests) > 1:
        notes.append(f"the file holds tests {tests}; test {tests[0]} was read")
    raw = raw.filter(pl.col("Test_ID") == tests[0]).sort("Data_Point") if tests else raw
    names = settings.get("Test_Name") or []
    schedules = settings.get("Schedule_File_Name") or []
    if names:
        schedule = f", schedule {schedules[0]}" if schedules else ""
        notes.append(f"Arbin test {names[0]}{schedule}")

    def counter(name: str) -> pl.Expr:
        return (pl.col(name) * 1e3) if name in raw.columns else pl.lit(0.0)

    frame = raw.select(
        pl.col("Test_Time").alias("time_s"),
        pl.col("Voltage").alias("voltage_V"),
        (pl.col("Current") * 1e3).alias("current_mA"),
        pl.col("Step_Index").cast(pl.Int64).alias("step_index"),
        pl.col("Cycle_Index").cast(pl.Int64).alias("hw_cycle"),
        counter("Charge_Capacity").alias("_qc"),
        counter("Discharge_Capacity").alias("_qd"),
        counter("Charge_Energy").alias("_ec"),
        counter("Discharge_Energy").alias("_ed"),
    )
    frame = from_counters(frame)
    return Records(canonical(frame, FORMAT), FORMAT, "access-parser", parser_version, notes)
