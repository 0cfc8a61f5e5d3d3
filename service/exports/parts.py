"""The files an export derives from a test run (per-cycle data, metrics, its record), written the same way
for the .eln and the PROV-JSON, so the SHA-256 the PROV names is the digest of the file the .eln holds."""

import hashlib
import json
from typing import Any

import orjson

from schemas.cycling import CycleOut, Metric, TestRunOut


def json_bytes(value: Any) -> bytes:
    """Indented JSON with sorted keys; orjson writes it (a crate's metadata of thousands of entities), the
    json module what orjson refuses (integers past 64 bits, keys that are not strings)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    except TypeError:
        return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True).encode("utf-8")


def cycles_csv(cycles: list[CycleOut]) -> bytes:
    """Per-cycle data as CSV, one row per cycle, the columns of `GET /tests/{id}/cycles`."""
    fields = list(CycleOut.model_fields)
    lines = [",".join(fields)]
    for cycle in cycles:
        values = cycle.model_dump()
        lines.append(",".join(_csv_cell(values[name]) for name in fields))
    return ("\n".join(lines) + "\n").encode("utf-8")


def metrics_csv(metrics: list[Metric]) -> bytes:
    lines = ["name,value,unit,note,convention"]
    for m in metrics:
        lines.append(",".join(_csv_cell(v) for v in (m.name, m.value, m.unit, m.note, m.convention)))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def test_record(run: TestRunOut) -> bytes:
    return json_bytes(run.model_dump(mode="json"))


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
