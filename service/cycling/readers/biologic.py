"""BioLogic EC-Lab files: binary .mpr through galvani (an optional extra: it is GPL-3.0) and .mpt text
exports.

Both give the same columns (time/s, Ewe/V, (Q-Qo)/mA.h, Ns, half cycle ...); EC-Lab writes decimal commas in
European locales.
"""

import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import polars as pl

from service.cycling.readers import (
    ReadOptions,
    Records,
    UnreadableFile,
    canonical,
    capacity_from_counter,
    number,
    own_version,
    step_ids,
    text_of,
)


def _frame(columns: dict[str, Any], file_format: str) -> pl.DataFrame:
    """The canonical frame from EC-Lab's columns (a mapping of column name to values)."""
    if "time/s" not in columns or "Ewe/V" not in columns:
        raise UnreadableFile(file_format, "no time/s and Ewe/V columns: not a potential-time record")
    frame = pl.DataFrame({"time_s": columns["time/s"], "voltage_V": columns["Ewe/V"]}, strict=False).cast(
        pl.Float64
    )
    n = frame.height

    def present(name: str) -> pl.Series | None:
        return pl.Series(name, columns[name], strict=False).cast(pl.Float64) if name in columns else None

    charge = present("(Q-Qo)/mA.h")
    if charge is None and (dq := present("dq/mA.h")) is not None:
        charge = dq.cum_sum()
    if charge is None:
        raise UnreadableFile(file_format, "no (Q-Qo)/mA.h or dq/mA.h column: the charge passed is unknown")
    frame = frame.with_columns(charge.alias("_q"))
    current = next((c for name in ("I/mA", "<I>/mA") if (c := present(name)) is not None), None)
    if current is None:
        # GCPL files may store no current column; the charge counter gives it.
        frame = frame.with_columns(
            (pl.col("_q").diff() * 3600 / pl.col("time_s").diff())
            .fill_null(0.0)
            .fill_nan(0.0)
            .alias("current_mA")
        )
    else:
        frame = frame.with_columns(current.alias("current_mA"))
    ns = present("Ns")
    half = present("half cycle")
    frame = frame.with_columns(
        (ns if ns is not None else pl.Series([0.0] * n)).alias("_ns"),
        (half if half is not None else pl.Series([0.0] * n)).alias("_half"),
        (
            present("cycle number").cast(pl.Int64).alias("hw_cycle")  # type: ignore[union-attr]
            if "cycle number" in columns
            else pl.lit(None, dtype=pl.Int64).alias("hw_cycle")
        ),
    )
    frame = frame.with_columns(
        step_ids(
            (pl.col("_ns") != pl.col("_ns").shift(1)) | (pl.col("_half") != pl.col("_half").shift(1))
        ).alias("step")
    )
    return capacity_from_counter(frame, "_q", "capacity_mAh")


def read_mpr(path: Path, options: ReadOptions) -> Records:
    try:
        from galvani import BioLogic
    except ImportError:
        raise UnreadableFile(
            "biologic_mpr",
            "reading .mpr needs the optional extra cellprov[biologic] (galvani, GPL-3.0), "
            "not installed here; "
            "upload EC-Lab's .mpt text export instead",
        ) from None
    try:
        galvani_version = version("galvani")
    except PackageNotFoundError:
        galvani_version = "unknown"
    try:
        mpr = BioLogic.MPRfile(str(path))
    except Exception as exc:  # galvani signals undecodable data with several unrelated exception types
        raise UnreadableFile(
            "biologic_mpr", f"galvani {galvani_version} cannot decode it ({type(exc).__name__}: {exc})"
        ) from None
    data = mpr.data
    columns = {name: data[name] for name in data.dtype.names}
    frame = canonical(_frame(columns, "biologic_mpr"), "biologic_mpr")
    return Records(frame, "biologic_mpr", "galvani", galvani_version)


_HEADER_LINES = re.compile(r"Nb header lines\s*:\s*(\d+)")


def read_mpt(path: Path, options: ReadOptions) -> Records:
    lines = text_of(path).splitlines()
    match = _HEADER_LINES.search("\n".join(lines[:5]))
    if not match:
        raise UnreadableFile("biologic_mpt", "no 'Nb header lines' line near the top")
    header_at = int(match.group(1)) - 1
    if header_at >= len(lines):
        raise UnreadableFile("biologic_mpt", "the header is longer than the file")
    names = [name.strip() for name in lines[header_at].split("\t")]
    rows = [line.split("\t") for line in lines[header_at + 1 :] if line.strip()]
    if not rows:
        raise UnreadableFile("biologic_mpt", "no data rows under the header")
    columns = {
        name: [number(row[i]) if i < len(row) else None for row in rows]
        for i, name in enumerate(names)
        if name
    }
    return Records(
        canonical(_frame(columns, "biologic_mpt"), "biologic_mpt"),
        "biologic_mpt",
        "cellprov.biologic_mpt",
        own_version(),
    )
