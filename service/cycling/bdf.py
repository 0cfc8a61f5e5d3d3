"""A test run's records in the Battery Data Format (BDF) of the Battery Data Alliance.

BDF is a fixed table: one row per record, each column a quantity under its preferred label with a fixed unit
(`Test Time / s`, `Voltage / V`, `Current / A` required; current positive while charging). cellprov's
readers already give every cycler's records one shape with that sign convention, so the table is a renaming
and a unit change of the canonical columns, plus the quantities BDF asks for that cellprov computes itself:
the cycle number (cellprov's, the one its per-cycle data and metrics use) and the per-step charging and
discharging split of the capacity and energy the cycler counted.

Columns are written only where the file holds the quantity: a cycler file with no capacity counter gets no
capacity column, rather than one cellprov integrated and BDF readers would take for the cycler's.
"""

import io
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal

import polars as pl
from sqlmodel import Session

from schemas.cycling import TestOptions
from service.cycling import logic
from service.cycling.summary import CycleBy, Summary, number_cycles
from service.cycling.tables import TestRun

BdfFormat = Literal["bdf", "bdf-parquet"]
MEDIA_TYPES: dict[str, str] = {"bdf": "text/csv", "bdf-parquet": "application/vnd.apache.parquet"}
SUFFIXES: dict[str, str] = {"bdf": ".bdf.csv", "bdf-parquet": ".bdf.parquet"}

# Preferred label -> machine-readable name, in the specification's order (required, recommended, optional).
LABELS: dict[str, str] = {
    "Test Time / s": "test_time_second",
    "Voltage / V": "voltage_volt",
    "Current / A": "current_ampere",
    "Unix Time / s": "unix_time_second",
    "Cycle Count / 1": "cycle_count",
    "Step Count / 1": "step_count",
    "Ambient Temperature / degC": "ambient_temperature_celsius",
    "Step Index / 1": "step_index",
    "Charging Capacity / Ah": "charging_capacity_ah",
    "Discharging Capacity / Ah": "discharging_capacity_ah",
    "Step Capacity / Ah": "step_capacity_ah",
    "Charging Energy / Wh": "charging_energy_wh",
    "Discharging Energy / Wh": "discharging_energy_wh",
    "Step Energy / Wh": "step_energy_wh",
    "Surface Temperature T1 / degC": "temperature_t1_celsius",
}
REQUIRED = ("Test Time / s", "Voltage / V", "Current / A")


@dataclass(frozen=True)
class BdfTable:
    frame: pl.DataFrame
    """The records under BDF's preferred labels, in the specification's column order."""
    started: datetime | None
    """The first record's clock time, where the file has one."""


def _present(frame: pl.DataFrame, name: str) -> bool:
    return name in frame.columns and frame.get_column(name).null_count() < frame.height


def bdf_table(frame: pl.DataFrame, summary: Summary, cycle_by: CycleBy) -> BdfTable:
    """The canonical records of a run (as its reader gave them) as a BDF table."""
    _, numbers = number_cycles(summary.segments, cycle_by, summary.leading)
    cycle_of_step = {segment.step: number for segment, number in zip(summary.segments, numbers, strict=True)}
    kind_of_step = {segment.step: segment.kind for segment in summary.segments}
    kind = pl.col("step").replace_strict(kind_of_step, default=None, return_dtype=pl.String)
    charging, discharging = kind == "charge", kind == "discharge"

    def split(column: str, labels: tuple[str, str, str]) -> list[pl.Expr]:
        """Charging, discharging and signed per-step amounts (Ah or Wh) from a per-step counter in m-units."""
        if not _present(frame, column):
            return []
        amount = pl.col(column).fill_null(0.0) / 1000
        return [
            pl.when(charging).then(amount).otherwise(0.0).alias(labels[0]),
            pl.when(discharging).then(amount).otherwise(0.0).alias(labels[1]),
            pl.when(charging).then(amount).when(discharging).then(-amount).otherwise(0.0).alias(labels[2]),
        ]

    columns: list[pl.Expr] = [
        pl.col("time_s").alias("Test Time / s"),
        pl.col("voltage_V").alias("Voltage / V"),
        (pl.col("current_mA") / 1000).alias("Current / A"),
    ]
    if _present(frame, "unix_time_s"):
        columns.append(pl.col("unix_time_s").alias("Unix Time / s"))
    columns += [
        pl.col("step")
        .replace_strict(cycle_of_step, default=None, return_dtype=pl.Int64)
        .alias("Cycle Count / 1"),
        pl.col("step").alias("Step Count / 1"),
    ]
    if _present(frame, "ambient_temperature_C"):
        columns.append(pl.col("ambient_temperature_C").alias("Ambient Temperature / degC"))
    if _present(frame, "step_index"):
        columns.append(pl.col("step_index").alias("Step Index / 1"))
    capacity = ("Charging Capacity / Ah", "Discharging Capacity / Ah", "Step Capacity / Ah")
    columns += split("capacity_mAh", capacity)
    columns += split("energy_mWh", ("Charging Energy / Wh", "Discharging Energy / Wh", "Step Energy / Wh"))
    if _present(frame, "surface_temperature_C"):
        columns.append(pl.col("surface_temperature_C").alias("Surface Temperature T1 / degC"))
    table = frame.select(columns)
    table = table.select([label for label in LABELS if label in table.columns])
    started = None
    if "Unix Time / s" in table.columns:
        first = table.get_column("Unix Time / s").drop_nulls().first()
        started = datetime.fromtimestamp(float(first), UTC) if first is not None else None  # type: ignore[arg-type]
    return BdfTable(table, started)


def file_name(institution: str, cell: str, day: datetime, run_id: int, fmt: BdfFormat) -> str:
    """BDF's recommended name, InstitutionCode__CellName__YYYYMMDD_XXX, with the format's suffix; XXX is the
    run's id, so two runs of one cell on one day keep apart."""

    def part(text: str) -> str:
        # "__" separates the fields: no field may hold it (nor anything a file name cannot).
        cleaned = "".join(c if c.isalnum() or c in "-." else "-" for c in text).strip("-.")
        return cleaned or "unknown"

    return f"{part(institution)}__{part(cell)}__{day:%Y%m%d}_{run_id:03d}{SUFFIXES[fmt]}"


def write(table: pl.DataFrame, fmt: BdfFormat, out: IO[bytes]) -> None:
    """The table as a BDF text file (CSV, the preferred labels as header) or as parquet (zstd)."""
    if fmt == "bdf":
        table.write_csv(out)
    else:
        table.write_parquet(out, compression="zstd")


def to_bytes(table: pl.DataFrame, fmt: BdfFormat) -> bytes:
    out = io.BytesIO()
    write(table, fmt, out)
    return out.getvalue()


def export(
    session: Session, store_path: Path, run: TestRun, fmt: BdfFormat, institution: str
) -> tuple[IO[bytes], int, str]:
    """The run's stored cycler file read again as it was read at upload, as a BDF file (a temporary file,
    spooled to disk past 8 MiB, at its start), its size and its name."""
    options = TestOptions.model_validate(run.options)
    records, summary = logic.read_and_summarise(store_path, options, run.protocol)
    table = bdf_table(records.frame, summary, options.cycle_by)
    cell = logic.run_out(session, run).cell
    assert run.id is not None
    day = table.started or run.created_at
    spooled = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (the response closes it)
    try:
        write(table.frame, fmt, spooled)
        size = spooled.tell()
        spooled.seek(0)
    except BaseException:
        spooled.close()
        raise
    return spooled, size, file_name(institution, cell, day, run.id, fmt)
