"""Neware BTSDA exports: the flat "record layer" CSV, the 3-level cycle/step/record CSV, and the XLSX
workbook.

BTSDA writes units into the column names (Current(µA), Voltage(mV), Capacity(mAs) ...) and lets the user pick
them, so columns are found by name and scaled by the unit they carry.
"""

import csv
import io
import re
from importlib.metadata import version
from pathlib import Path

import polars as pl

from service.cycling.readers import (
    ReadOptions,
    Records,
    UnreadableFile,
    canonical,
    clock_seconds,
    number,
    own_version,
    step_ids,
    text_of,
)
from service.cycling.readers.neware_binary import kind_of_neware_step

_NAME_UNIT = re.compile(r"^\s*([^(]*?)\s*(?:\((.*)\))?\s*$")
# Factors to cellprov's units (mA, V, mAh, mWh) from the units BTSDA offers.
_SCALE = {
    "current": {"µa": 1e-3, "μa": 1e-3, "ua": 1e-3, "ma": 1.0, "a": 1e3},
    "voltage": {"mv": 1e-3, "v": 1.0},
    "capacity": {"mas": 1 / 3600, "mah": 1.0, "ah": 1e3, "as": 1e3 / 3600},
    "energy": {"mws": 1 / 3600, "mwh": 1.0, "wh": 1e3, "ws": 1e3 / 3600, "j": 1e3 / 3600},
}
_ROLES = {
    "cycle index": "hw_cycle",
    "cycle id": "hw_cycle",
    "step index": "step_index",
    "step id": "step_index",
    "step type": "step_type",
    "step name": "step_type",
    "total time": "total_time",
    "time": "step_time",
    "current": "current",
    "voltage": "voltage",
    "capacity": "capacity",
    "energy": "energy",
    "date": "date",
    "realtime": "date",
    "absolute time": "date",
}


def _columns(header: list[str]) -> dict[str, tuple[int, str]]:
    """Role -> (column position, unit) for the columns of a BTSDA header."""
    found: dict[str, tuple[int, str]] = {}
    for position, raw in enumerate(header):
        match = _NAME_UNIT.match(raw or "")
        if not match:
            continue
        role = _ROLES.get(match.group(1).strip().lower())
        if role and role not in found:
            found[role] = (position, (match.group(2) or "").strip())
    return found


def _scale(role: str, unit: str, file_format: str) -> float:
    if role in ("current", "voltage") and not unit:
        return 1e3 if role == "current" else 1.0
    factor = _SCALE[role].get(unit.lower().replace("h:min:s.ms", ""))
    if factor is None:
        raise UnreadableFile(file_format, f"unknown {role} unit {unit!r} in the column header")
    return factor


def _date_seconds(values: list[str]) -> list[float | None]:
    parsed = pl.Series(values, dtype=pl.String).str.strptime(pl.Datetime("ms"), strict=False)
    seconds = (parsed - parsed.drop_nulls().first()).dt.total_milliseconds() / 1000
    return seconds.to_list()


def records_from_rows(header: list[str], rows: list[list[str]], file_format: str, parser: str) -> Records:
    """The canonical frame from BTSDA record rows given as text cells."""
    where = _columns(header)
    for needed in ("voltage", "current"):
        if needed not in where:
            raise UnreadableFile(file_format, f"no {needed} column in the header {header[:12]}")

    def cells(role: str) -> list[str]:
        position = where[role][0]
        return [row[position] if position < len(row) else "" for row in rows]

    def numbers(role: str) -> list[float | None]:
        factor = _scale(role, where[role][1], file_format)
        return [None if (v := number(c)) is None else v * factor for c in cells(role)]

    data: dict[str, list] = {
        "voltage_V": numbers("voltage"),
        "current_mA": numbers("current"),
    }
    if "total_time" in where:
        data["time_s"] = [clock_seconds(c) for c in cells("total_time")]
    elif "date" in where:
        data["time_s"] = _date_seconds(cells("date"))
    else:
        raise UnreadableFile(file_format, "neither a Total Time nor a Date column to place records in time")
    for role, name in (("capacity", "capacity_mAh"), ("energy", "energy_mWh")):
        if role in where:
            data[name] = [None if v is None else abs(v) for v in numbers(role)]
    data["hw_cycle"] = (
        [int(v) if (v := number(c)) is not None else None for c in cells("hw_cycle")]
        if ("hw_cycle" in where)
        else [None] * len(rows)
    )
    data["step_index"] = cells("step_index") if "step_index" in where else [""] * len(rows)
    data["step_type"] = cells("step_type") if "step_type" in where else [""] * len(rows)
    frame = pl.DataFrame(data, strict=False, infer_schema_length=None)
    boundary = (pl.col("step_index") != pl.col("step_index").shift(1)) | (
        pl.col("step_type") != pl.col("step_type").shift(1)
    )
    frame = frame.with_columns(
        step_ids(boundary).alias("step"),
        kind_of_neware_step(pl.col("step_type")).alias("step_kind"),
    )
    return Records(canonical(frame, file_format), file_format, parser, own_version())


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def is_three_level(lines: list[str]) -> bool:
    return (
        len(lines) >= 3
        and lines[1].startswith(",")
        and lines[2].startswith(",,")
        and not lines[0].startswith(",")
    )


def read_csv(path: Path, options: ReadOptions) -> Records:
    rows = _csv_rows(text_of(path))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if len(rows) < 2:
        raise UnreadableFile("neware_csv", "no data rows under the header")
    if rows[1] and rows[1][0] == "" and len(rows) > 2 and rows[2][:2] == ["", ""]:
        return _read_three_level(rows)
    return records_from_rows(rows[0], rows[1:], "neware_csv", "cellprov.neware_csv")


def _read_three_level(rows: list[list[str]]) -> Records:
    """Cycle rows, step rows (one leading empty cell), record rows (two): records take their step's fields."""
    cycle_header, step_header, record_header = rows[0], rows[1][1:], rows[2][2:]
    steps = _columns(step_header)
    header = [*record_header, "Cycle Index", "Step Index", "Step Type"]
    cycle = step = kind = ""
    records: list[list[str]] = []
    for row in rows[3:]:
        if row[0] != "":
            cycle = row[0]
        elif len(row) > 1 and row[1] != "":
            cells = row[1:]
            step = cells[steps["step_index"][0]] if "step_index" in steps else str(len(records))
            kind = cells[steps["step_type"][0]] if "step_type" in steps else ""
        else:
            records.append([*row[2 : 2 + len(record_header)], cycle, step, kind])
    if not records:
        raise UnreadableFile(
            "neware_csv", f"a 3-level export with no record rows (cycle header {cycle_header[:3]})"
        )
    # Record times in this layout are step times; total time is rebuilt from the date column or by summing.
    where = _columns(header)
    if "total_time" not in where and "date" not in where:
        return _with_summed_time(header, records)
    return records_from_rows(header, records, "neware_csv", "cellprov.neware_csv")


def _with_summed_time(header: list[str], records: list[list[str]]) -> Records:
    where = _columns(header)
    if "step_time" not in where:
        raise UnreadableFile("neware_csv", "record rows carry no time")
    position = where["step_time"][0]
    total, offset, last = [], 0.0, 0.0
    previous_step = None
    for row in records:
        seconds = clock_seconds(row[position]) or 0.0
        step = (row[-3], row[-2])
        if step != previous_step and previous_step is not None:
            offset += last
        previous_step = step
        last = seconds
        total.append(f"{offset + seconds}")
    rows = [[*row, t] for row, t in zip(records, total, strict=True)]
    return records_from_rows([*header, "Total Time"], rows, "neware_csv", "cellprov.neware_csv")


def read_xlsx(path: Path, options: ReadOptions) -> Records:
    import warnings

    import openpyxl

    with warnings.catch_warnings():
        # BTSDA workbooks carry no default style; openpyxl warns about it and then reads them fine.
        warnings.simplefilter("ignore", UserWarning)
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # a zip that is not a workbook, or a damaged one
            raise UnreadableFile("neware_xlsx", f"not a readable workbook ({type(exc).__name__})") from None
    try:
        names = {name.lower(): name for name in book.sheetnames}
        if "record" not in names:
            raise UnreadableFile(
                "neware_xlsx",
                f"no 'record' sheet (sheets: {', '.join(book.sheetnames)}); export the record layer",
            )
        sheet = book[names["record"]]
        sheet.reset_dimensions()  # BTSDA writes a wrong dimension tag; without this only one column is read
        table = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    table = [row for row in table if any(cell for cell in row)]
    if len(table) < 2:
        raise UnreadableFile("neware_xlsx", "the record sheet holds no data rows")
    records = records_from_rows(table[0], table[1:], "neware_xlsx", "openpyxl")
    records.parser_version = version("openpyxl")
    return records
