"""Arbin CSV exports (MITS Pro / MITS 7 "Channel" data): SI units, capacity counters that reset each cycle."""

import io
import re
from pathlib import Path

import polars as pl

from service.cycling.readers import (
    ReadOptions,
    Records,
    UnreadableFile,
    canonical,
    capacity_from_counter,
    own_version,
    step_ids,
    text_of,
)

FORMAT = "arbin_csv"


def from_counters(frame: pl.DataFrame) -> pl.DataFrame:
    """Steps and per-step capacity and energy from Arbin's counters (`_qc`, `_qd`, `_ec`, `_ed`, in mAh and
    mWh, reset each cycle): a step ends where Step_Index or Cycle_Index changes. Both Arbin readers use it."""
    frame = frame.with_columns(
        step_ids(
            (pl.col("step_index") != pl.col("step_index").shift(1))
            | (pl.col("hw_cycle") != pl.col("hw_cycle").shift(1))
        ).alias("step")
    )
    for counter in ("_qc", "_qd", "_ec", "_ed"):
        frame = capacity_from_counter(frame, counter, counter + "_step", restarts=True)
    return frame.with_columns(
        (pl.col("_qc_step") + pl.col("_qd_step")).alias("capacity_mAh"),
        (pl.col("_ec_step") + pl.col("_ed_step")).alias("energy_mWh"),
    )


def _plain(name: str) -> str:
    """`Current(A)` and `Current` alike become `current`."""
    return re.sub(r"\s*\(.*\)\s*$", "", name).strip().lower()


def read(path: Path, options: ReadOptions) -> Records:
    try:
        raw = pl.read_csv(io.StringIO(text_of(path)), infer_schema_length=10000, truncate_ragged_lines=True)
    except Exception as exc:  # polars' CSV errors name the line that broke
        raise UnreadableFile(FORMAT, f"not a CSV table ({exc})") from None
    columns = {_plain(name): name for name in raw.columns}
    needed = ["test_time", "step_index", "current", "voltage", "charge_capacity", "discharge_capacity"]
    missing = [name for name in needed if name not in columns]
    if missing:
        raise UnreadableFile(FORMAT, f"missing Arbin columns {missing}")

    def col(name: str) -> pl.Expr:
        return pl.col(columns[name]).cast(pl.Float64, strict=False)

    frame = raw.select(
        col("test_time").alias("time_s"),
        col("voltage").alias("voltage_V"),
        (col("current") * 1e3).alias("current_mA"),
        col("step_index").alias("step_index"),
        (col("cycle_index").cast(pl.Int64) if "cycle_index" in columns else pl.lit(None, pl.Int64)).alias(
            "hw_cycle"
        ),
        (col("charge_capacity") * 1e3).alias("_qc"),
        (col("discharge_capacity") * 1e3).alias("_qd"),
        (col("charge_energy") * 1e3 if "charge_energy" in columns else pl.lit(0.0)).alias("_ec"),
        (col("discharge_energy") * 1e3 if "discharge_energy" in columns else pl.lit(0.0)).alias("_ed"),
        # Epoch seconds in the CSV export (a text date elsewhere comes out null, and so no column).
        *([col("datetime").alias("unix_time_s")] if "datetime" in columns else []),
        *([col("temperature").alias("surface_temperature_C")] if "temperature" in columns else []),
    )
    frame = from_counters(frame)
    return Records(canonical(frame, FORMAT), FORMAT, "cellprov.arbin_csv", own_version())
