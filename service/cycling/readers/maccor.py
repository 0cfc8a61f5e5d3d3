"""Maccor text exports, both templates: "Today's Date …" (Rec#, Cyc#, Amp-hr, State) and
"Name:/Channel:/Tester"
(Rec, Cycle P, Cycle C, Cap. [Ah], Md), tab-separated, with decimal commas where a European locale wrote
them."""

from datetime import datetime
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

FORMAT = "maccor_txt"
# Column roles by header name, across both templates.
_ROLES = {
    "cyc#": "cycle",
    "cycle c": "cycle",
    "cycle p": "_cycle_p",
    "step": "step_index",
    "test (sec)": "time_s",
    "testtime": "test_time",
    "amp-hr": "capacity_Ah",
    "cap. [ah]": "capacity_Ah",
    "watt-hr": "energy_Wh",
    "ener. [wh]": "energy_Wh",
    "amps": "current_A",
    "current [a]": "current_A",
    "volts": "voltage_V",
    "voltage [v]": "voltage_V",
    "state": "state",
    "md": "state",
    "dpt time": "clock",
}


def _header_index(lines: list[str]) -> int:
    for index, line in enumerate(lines[:60]):
        cells = [c.strip().lower() for c in line.split("\t")]
        if ("rec#" in cells or "rec" in cells) and ("volts" in cells or "voltage [v]" in cells):
            return index
    raise UnreadableFile(
        FORMAT, "no Maccor column header (Rec#/Rec … Volts/Voltage [V]) in the first 60 lines"
    )


def _clock(text: str) -> float | None:
    for pattern in ("%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p"):
        try:
            return datetime.strptime(text.strip(), pattern).timestamp()
        except ValueError:
            continue
    return None


def read(path: Path, options: ReadOptions) -> Records:
    lines = text_of(path).splitlines()
    start = _header_index(lines)
    header = [c.strip().lower() for c in lines[start].split("\t")]
    where = {_ROLES[name]: i for i, name in enumerate(header) if name in _ROLES}
    for needed in ("voltage_V", "current_A", "state"):
        if needed not in where:
            raise UnreadableFile(FORMAT, f"no {needed} column in the Maccor header")
    rows = [line.split("\t") for line in lines[start + 1 :] if line.strip()]
    if not rows:
        raise UnreadableFile(FORMAT, "no data rows under the header")

    def texts(role: str) -> list[str]:
        i = where.get(role)
        return [row[i] if i is not None and i < len(row) else "" for row in rows]

    def numbers(role: str) -> list[float | None]:
        return [number(c) for c in texts(role)]

    if "time_s" in where:
        time_s = numbers("time_s")
    elif "clock" in where:
        # This template's TestTime carries no unit in its header; the DPT Time clock is unambiguous, and
        # sets the
        # scale of TestTime (which is still there on rows where the clock is missing).
        clock = [_clock(c) for c in texts("clock")]
        test_time = numbers("test_time") if "test_time" in where else [None] * len(rows)
        both = [(t, c) for t, c in zip(test_time, clock, strict=True) if t is not None and c is not None]
        if len(both) >= 2 and both[-1][0] != both[0][0]:
            scale = (both[-1][1] - both[0][1]) / (both[-1][0] - both[0][0])
            time_s = [None if t is None else (t - both[0][0]) * scale for t in test_time]
        elif both:
            time_s = [None if c is None else c - both[0][1] for c in clock]
        else:
            raise UnreadableFile(FORMAT, "no readable test time or DPT Time clock")
    else:
        time_s = [clock_seconds(c) for c in texts("test_time")]
    state = [c.strip().upper()[:1] for c in texts("state")]
    sign = {"C": 1.0, "D": -1.0}
    current = [
        None if a is None else (abs(a) * sign.get(s, 0.0) if s in "CDR" else a)
        for a, s in zip(numbers("current_A"), state, strict=True)
    ]
    frame = pl.DataFrame(
        {
            "time_s": time_s,
            "voltage_V": numbers("voltage_V"),
            "current_mA": [None if a is None else a * 1e3 for a in current],
            "state": state,
            "step_index": texts("step_index"),
            "hw_cycle": [None if v is None else int(v) for v in numbers("cycle")],
            "capacity_mAh": [None if v is None else abs(v) * 1e3 for v in numbers("capacity_Ah")],
            "energy_mWh": [None if v is None else abs(v) * 1e3 for v in numbers("energy_Wh")],
        },
        strict=False,
    )
    frame = frame.with_columns(
        step_ids(
            (pl.col("step_index") != pl.col("step_index").shift(1))
            | (pl.col("state") != pl.col("state").shift(1))
        ).alias("step"),
        pl.col("state")
        .replace_strict({"C": "charge", "D": "discharge", "R": "rest"}, default=None)
        .alias("step_kind"),
    )
    return Records(canonical(frame, FORMAT), FORMAT, "cellprov.maccor", own_version())
