"""Any other cycler's CSV, read through a column mapping: which column holds time, voltage, current ...

Without a mapping, common names are tried (Battery Data Format names such as `test_time_second`,
`voltage_volt`, and the snake_case with units of many exporters, `current_A`, `charge_capacity_Ah`). Units
come
from the mapping's `units`, else from the column name's suffix.
"""

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

FORMAT = "generic_csv"
ROLES = (
    "time",
    "voltage",
    "current",
    "cycle",
    "step",
    "step_type",
    "capacity",
    "charge_capacity",
    "discharge_capacity",
    "charge_energy",
    "discharge_energy",
    "unix_time",
    "ambient_temperature",
)
ALIASES: dict[str, tuple[str, ...]] = {
    "time": ("test_time_second", "test_time_s", "time_s", "test_time", "total_time_s", "time"),
    "voltage": ("voltage_volt", "voltage_v", "voltage_mv", "voltage", "ewe_v"),
    "current": ("current_ampere", "current_a", "current_ma", "current"),
    "cycle": ("cycle_index", "cycle_count", "cycle", "cycle_number"),
    "step": ("step_index", "step_count", "step"),
    "step_type": ("step_name", "step_type", "state"),
    "charge_capacity": (
        "charging_capacity_ah",
        "charge_capacity_ah",
        "charge_capacity_mah",
        "charge_capacity",
    ),
    "discharge_capacity": (
        "discharging_capacity_ah",
        "discharge_capacity_ah",
        "discharge_capacity_mah",
        "discharge_capacity",
    ),
    "charge_energy": ("charging_energy_wh", "charge_energy_wh", "charge_energy_mwh"),
    "discharge_energy": ("discharging_energy_wh", "discharge_energy_wh", "discharge_energy_mwh"),
    "unix_time": ("unix_time_second", "unix_time_s", "unix_time"),
    # The BDF project's own conversion of a Landt file takes its first temperature channel as the ambient one.
    "ambient_temperature": ("ambient_temperature_celsius", "ambient_temperature_c", "temperature_1_c"),
}
# Factor to cellprov's unit for each unit a column may carry.
UNITS: dict[str, dict[str, float]] = {
    "time": {"s": 1, "second": 1, "sec": 1, "min": 60, "h": 3600, "hour": 3600},
    "voltage": {"v": 1, "volt": 1, "mv": 1e-3},
    "current": {"a": 1e3, "ampere": 1e3, "ma": 1, "ua": 1e-3},
    "capacity": {"ah": 1e3, "mah": 1, "as": 1e3 / 3600, "mas": 1 / 3600, "c": 1e3 / 3600},
    "energy": {"wh": 1e3, "mwh": 1, "j": 1e3 / 3600, "ws": 1e3 / 3600, "mws": 1 / 3600},
}
_DEFAULT_UNIT = {"time": "s", "voltage": "v", "current": "a", "capacity": "ah", "energy": "wh"}


def _dimension(role: str) -> str | None:
    for dimension in ("time", "voltage", "current", "capacity", "energy"):
        if dimension in role:
            return dimension
    return None


def _unit_factor(role: str, column: str, options: ReadOptions) -> float:
    dimension = _dimension(role)
    if dimension is None:
        return 1.0
    given = options.units.get(role)
    table = UNITS[dimension]
    if given is not None:
        factor = table.get(given.strip().lower())
        if factor is None:
            raise UnreadableFile(FORMAT, f"unit {given!r} for {role} is not one of {sorted(table)}")
        return factor
    suffix = re.split(r"[_\s(/\[]+", column.strip().lower().rstrip(")]"))[-1]
    return table.get(suffix, table[_DEFAULT_UNIT[dimension]])


def _split(line: str) -> tuple[str, list[str]]:
    separator = max((",", ";", "\t"), key=line.count)
    return separator, [cell.strip() for cell in line.split(separator)]


def _find_header(lines: list[str], options: ReadOptions) -> tuple[int, str, dict[str, str]]:
    """The header line, its separator, and role -> column name."""
    for index, line in enumerate(lines[:100]):
        separator, cells = _split(line)
        lowered = {cell.lower(): cell for cell in cells if cell}
        if options.columns:
            if all(name.lower() in lowered for name in options.columns.values()):
                return (
                    index,
                    separator,
                    {role: lowered[name.lower()] for role, name in options.columns.items()},
                )
            continue
        mapping = {}
        for role, aliases in ALIASES.items():
            hit = next((lowered[a] for a in aliases if a in lowered), None)
            if hit is not None:
                mapping[role] = hit
        if {"time", "voltage", "current"} <= set(mapping):
            return index, separator, mapping
    if options.columns:
        raise UnreadableFile(
            FORMAT, f"no header line holds all the mapped columns {sorted(options.columns.values())}"
        )
    raise UnreadableFile(
        FORMAT,
        "the columns are not recognised; give a column mapping, e.g. options "
        '{"columns": {"time": "Time [s]", "voltage": "U [V]", "current": "I [mA]"},'
        ' "units": {"current": "mA"}}',
    )


def read(path: Path, options: ReadOptions) -> Records:
    unknown = sorted(set(options.columns) - set(ROLES))
    if unknown:
        raise UnreadableFile(FORMAT, f"unknown roles {unknown} in the column mapping; use {list(ROLES)}")
    lines = text_of(path).splitlines()
    start, separator, mapping = _find_header(lines, options)
    missing = [role for role in ("time", "voltage", "current") if role not in mapping]
    if missing:
        raise UnreadableFile(FORMAT, f"the column mapping needs {missing}")
    try:
        raw = pl.read_csv(
            io.StringIO("\n".join(lines[start:])),
            separator=separator,
            infer_schema=False,
            truncate_ragged_lines=True,
        )
    except Exception as exc:  # polars' CSV errors name the line that broke
        raise UnreadableFile(FORMAT, f"not a readable table ({exc})") from None
    raw = raw.rename({name: name.strip() for name in raw.columns})

    def value(role: str) -> pl.Expr:
        text = pl.col(mapping[role]).str.strip_chars()
        if separator != ",":
            text = text.str.replace(",", ".", literal=True)
        return text.cast(pl.Float64, strict=False) * _unit_factor(role, mapping[role], options)

    frame = raw.select(
        value("time").alias("time_s"),
        value("voltage").alias("voltage_V"),
        value("current").alias("current_mA"),
        (value("cycle").cast(pl.Int64) if "cycle" in mapping else pl.lit(None, pl.Int64)).alias("hw_cycle"),
        (pl.col(mapping["step"]) if "step" in mapping else pl.lit("")).alias("_step"),
        (
            pl.col(mapping["step_type"]).str.to_lowercase()
            if "step_type" in mapping
            else pl.lit(None, pl.String)
        ).alias("_type"),
        *[
            value(role).alias(role)
            for role in ROLES
            if role in mapping and ("capacity" in role or "energy" in role)
        ],
        *([value("unix_time").alias("unix_time_s")] if "unix_time" in mapping else []),
        *(
            [value("ambient_temperature").alias("ambient_temperature_C")]
            if "ambient_temperature" in mapping
            else []
        ),
        *(
            [pl.col(mapping["step"]).str.strip_chars().cast(pl.Int64, strict=False).alias("step_index")]
            if "step" in mapping
            else []
        ),
    )
    sign_change = pl.col("current_mA").sign() != pl.col("current_mA").sign().shift(1)
    boundary = (pl.col("_step") != pl.col("_step").shift(1)) if "step" in mapping else sign_change
    frame = frame.with_columns(
        step_ids(boundary).alias("step"),
        pl.when(pl.col("_type").str.contains("dis|dchg"))
        .then(pl.lit("discharge"))
        .when(pl.col("_type").str.contains("chg|charge"))
        .then(pl.lit("charge"))
        .when(pl.col("_type").str.contains("rest|pause|ocv"))
        .then(pl.lit("rest"))
        .otherwise(pl.lit(None, pl.String))
        .alias("step_kind"),
    )
    if "capacity" in mapping:
        frame = capacity_from_counter(frame, "capacity", "capacity_mAh", restarts=True)
    elif "charge_capacity" in mapping and "discharge_capacity" in mapping:
        frame = capacity_from_counter(frame, "charge_capacity", "_qc", restarts=True)
        frame = capacity_from_counter(frame, "discharge_capacity", "_qd", restarts=True)
        frame = frame.with_columns((pl.col("_qc") + pl.col("_qd")).alias("capacity_mAh"))
    if "charge_energy" in mapping and "discharge_energy" in mapping:
        frame = capacity_from_counter(frame, "charge_energy", "_ec", restarts=True)
        frame = capacity_from_counter(frame, "discharge_energy", "_ed", restarts=True)
        frame = frame.with_columns((pl.col("_ec") + pl.col("_ed")).alias("energy_mWh"))
    return Records(canonical(frame, FORMAT), FORMAT, "cellprov.generic_csv", own_version())
