"""Cycler file readers: each turns one vendor format into the same table of records.

Every reader returns a `Records` whose frame has these columns (polars), whatever the vendor called them:

    time_s         total test time, seconds
    voltage_V      cell voltage
    current_mA     signed: positive charges the cell (or oxidises the working electrode), negative discharges
    step           an id that changes at every step boundary (the vendor's step counter where it has one)
    step_kind      "charge", "discharge", "rest" or null where the file does not say
    hw_cycle       the cycler's own cycle index, kept beside the cycle number cellprov computes (nullable)
    capacity_mAh   capacity passed since the start of the step, >= 0 (null where the file has none)
    energy_mWh     energy passed since the start of the step, >= 0 (nullable)

and, where the file has them, the optional columns of `EXTRAS` (the Battery Data Format export writes them):

    unix_time_s            the record's clock time, seconds since 1970-01-01 UTC
    step_index             the cycler's own step number in its schedule (repeats from cycle to cycle)
    ambient_temperature_C  the temperature around the cell, °C
    surface_temperature_C  a thermocouple on the cell (the cycler's auxiliary channel), °C
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import polars as pl

from service.errors import Invalid, problem

COLUMNS: dict[str, Any] = {
    "time_s": pl.Float64,
    "voltage_V": pl.Float64,
    "current_mA": pl.Float64,
    "step": pl.Int64,
    "step_kind": pl.String,
    "hw_cycle": pl.Int64,
    "capacity_mAh": pl.Float64,
    "energy_mWh": pl.Float64,
}
EXTRAS: dict[str, Any] = {
    "unix_time_s": pl.Float64,
    "step_index": pl.Int64,
    "ambient_temperature_C": pl.Float64,
    "surface_temperature_C": pl.Float64,
}
STEP_KINDS = ("charge", "discharge", "rest")


class UnreadableFile(Invalid):
    """A cycler file that cannot be read: the answer names the format and why."""

    status, slug, title = 422, "unreadable-file", "The cycler file cannot be read"

    def __init__(self, file_format: str, why: str):
        super().__init__(
            f"{file_format}: {why}",
            [problem("/file", why, expected=f"a readable {file_format} file", got=file_format)],
        )
        self.file_format = file_format
        self.why = why


@dataclass
class Records:
    frame: pl.DataFrame
    file_format: str
    parser: str
    parser_version: str
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReadOptions:
    """What a reader may need beyond the bytes: a column mapping for generic CSV files."""

    columns: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)


Reader = Callable[[Path, ReadOptions], Records]


def canonical(frame: pl.DataFrame, file_format: str) -> pl.DataFrame:
    """The frame with exactly the canonical columns and types (plus the `EXTRAS` the reader found), rows in
    time order, and non-finite rows out."""
    missing = [name for name in ("time_s", "voltage_V", "current_mA", "step") if name not in frame.columns]
    if missing:
        raise UnreadableFile(file_format, f"no {', '.join(missing)} could be found in the file")
    frame = frame.with_columns(
        [
            pl.lit(None, dtype=dtype).alias(name)
            for name, dtype in COLUMNS.items()
            if name not in frame.columns
        ]
    ).select(
        [pl.col(name).cast(dtype) for name, dtype in COLUMNS.items()]
        + [pl.col(name).cast(dtype, strict=False) for name, dtype in EXTRAS.items() if name in frame.columns]
    )
    frame = frame.filter(
        pl.col("time_s").is_finite() & pl.col("voltage_V").is_finite() & pl.col("current_mA").is_finite()
    )
    if frame.height == 0:
        raise UnreadableFile(file_format, "the file holds no data records")
    return frame


def step_ids(changes: pl.Expr) -> pl.Expr:
    """A step id from an expression that is true where a new step starts."""
    return changes.fill_null(True).cast(pl.Int64).cum_sum()


def capacity_from_counter(
    frame: pl.DataFrame, counter: str, out: str, *, restarts: bool = False
) -> pl.DataFrame:
    """Capacity (or energy) since the start of each step from a counter that runs across steps.

    The step's start is the previous record (the end of the step before), so the first interval of a step is
    not lost, which matters for short steps.
    """
    before = frame.get_column(counter).shift(1).fill_null(frame.get_column(counter).first())
    frame = frame.with_columns(before.alias("_before"))
    start = pl.col("_before").first().over("step")
    first = pl.col(counter).first().over("step")
    if restarts:
        # A never-decreasing counter that restarts (Arbin's, every cycle) starts again from zero.
        start = pl.when(first < start).then(0.0).otherwise(start)
    return frame.with_columns((pl.col(counter) - start).abs().alias(out)).drop("_before")


def own_version() -> str:
    """The version of cellprov, for the readers written here."""
    try:
        return version("cellprov")
    except PackageNotFoundError:
        return "0.1.0"


def text_of(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def number(text: str | None) -> float | None:
    """A number from a text cell, with a decimal comma where a European locale wrote one."""
    if text is None:
        return None
    cleaned = text.strip().replace(",", ".")
    if not cleaned or cleaned.upper() in ("N/A", "NA", "NAN", "-"):
        return None
    try:
        return float(cleaned)
    except ValueError:
        return None


def clock_seconds(text: str) -> float | None:
    """Seconds from `hh:mm:ss.fff` (hours may pass 24) or `d-hh:mm:ss`, or a plain number of seconds."""
    value = text.strip()
    if not value:
        return None
    days = 0.0
    if "-" in value[1:] and ":" in value:
        day_text, value = value.split("-", 1)
        days = float(day_text)
    parts = value.replace(",", ".").split(":")
    try:
        seconds = 0.0
        for part in parts:
            seconds = seconds * 60 + float(part)
    except ValueError:
        return None
    return days * 86400 + seconds
