"""Neware BTS binary files, .nda and .ndax, read with fastnda (checked by its authors against BTSDA
exports)."""

import shutil
import tempfile
from functools import cache
from importlib.metadata import version
from pathlib import Path

import polars as pl

from service.cycling.readers import ReadOptions, Records, UnreadableFile, canonical


def kind_of_neware_step(step_type: pl.Expr) -> pl.Expr:
    """charge / discharge / rest from Neware's step type names (CC_Chg, CCCV Chg, CC_DChg, Rest, ...)."""
    name = step_type.cast(pl.String).str.to_lowercase()
    return (
        pl.when(name.str.contains("dchg|discharge"))
        .then(pl.lit("discharge"))
        .when(name.str.contains("chg|charge"))
        .then(pl.lit("charge"))
        .when(name.str.contains("rest|pause"))
        .then(pl.lit("rest"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


@cache
def _kind_of_step_code() -> dict[int, str | None]:
    """charge / discharge / rest for each of fastnda's raw step type codes, by the code's Neware name.

    Naming the kind once per code, not once per record, saves most of the reading time of a long test: a
    million records hold a handful of step types.
    """
    from fastnda.dicts import STEP_TYPE_MAP

    names = pl.Series("name", list(STEP_TYPE_MAP.values()), dtype=pl.String)
    kinds = pl.select(kind_of_neware_step(pl.lit(names))).to_series().to_list()
    return dict(zip(STEP_TYPE_MAP, kinds, strict=True))


def _read(path: Path, suffix: str, file_format: str) -> Records:
    import fastnda

    # fastnda picks its decoder by suffix; the upload's own name is not trusted, so give it the right one.
    with tempfile.TemporaryDirectory() as folder:
        named = Path(folder) / f"upload{suffix}"
        try:
            named.symlink_to(path.resolve())
        except OSError:
            shutil.copyfile(path, named)
        try:
            raw = fastnda.read(named, cycle_mode="raw", raw_categories=True)
        except Exception as exc:  # fastnda raises plain exceptions of many kinds on files it cannot decode
            raise UnreadableFile(
                file_format, f"fastnda could not decode it ({type(exc).__name__}: {exc})"
            ) from None
    if raw.height == 0:
        raise UnreadableFile(file_format, "the file holds no data records")
    frame = raw.select(
        pl.col("total_time_s").cast(pl.Float64).alias("time_s"),
        pl.col("voltage_V").cast(pl.Float64),
        pl.col("current_mA").cast(pl.Float64),
        pl.col("step_count").cast(pl.Int64).alias("step"),
        pl.col("step_type")
        .replace_strict(_kind_of_step_code(), default=None, return_dtype=pl.String)
        .alias("step_kind"),
        (pl.col("cycle_count") if "cycle_count" in raw.columns else pl.lit(None))
        .cast(pl.Int64)
        .alias("hw_cycle"),
        pl.col("capacity_mAh").cast(pl.Float64).abs(),
        pl.col("energy_mWh").cast(pl.Float64).abs(),
        *[pl.col(name).cast(pl.Float64) for name in ("unix_time_s",) if name in raw.columns],
        *[pl.col(name).cast(pl.Int64) for name in ("step_index",) if name in raw.columns],
        # The first auxiliary temperature: a thermocouple on the cell.
        *[
            pl.col(name).cast(pl.Float64).alias("surface_temperature_C")
            for name in [c for c in raw.columns if c.endswith("temperature_degC")][:1]
        ],
    )
    return Records(canonical(frame, file_format), file_format, "fastnda", version("fastnda"))


def read_nda(path: Path, options: ReadOptions) -> Records:
    return _read(path, ".nda", "neware_nda")


def read_ndax(path: Path, options: ReadOptions) -> Records:
    return _read(path, ".ndax", "neware_ndax")
