"""Battery Data Format out: a test run's records under BDF's labels and units, checked against the BDF
project's own conversion of the Landt file, against the `batterydf` package, and on Neware binaries."""

import io

import polars as pl
import pytest

from tests.cycler_files import fixture
from tests.test_cycling_api import bench, make_cells, upload

__all__ = ["bench"]  # the autouse fixture publishing the protocols make_cells logs against

LANDT = "generic_csv/SINTEF__LiGrR2032__2024-04-30__25degC__Landt"
REQUIRED = ["Test Time / s", "Voltage / V", "Current / A"]


def _export(api, cell: str, relative: str, fmt: str = "bdf"):
    content = fixture(relative).read_bytes()
    created = upload(api, cell, content, name=relative.rsplit("/", 1)[-1])
    assert created.status_code == 201, created.text
    run = created.json()
    answer = api.get(f"/tests/{run['id']}/records", params={"format": fmt})
    assert answer.status_code == 200, answer.text
    return run, answer


def _table(answer, fmt: str = "bdf") -> pl.DataFrame:
    if fmt == "bdf":
        return pl.read_csv(io.BytesIO(answer.content), infer_schema_length=None)
    return pl.read_parquet(io.BytesIO(answer.content))


def test_the_landt_file_matches_the_bdf_projects_own_conversion_column_by_column(api):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    run, answer = _export(api, cell, f"{LANDT}.csv")
    assert answer.headers["content-type"].startswith("text/csv")
    disposition = answer.headers["content-disposition"]
    assert disposition.endswith(f'__{cell}__{run["created_at"][:10].replace("-", "")}_{run["id"]:03d}.bdf.csv"')
    ours = _table(answer)
    assert ours.columns[:3] == REQUIRED
    reference = pl.read_csv(fixture(f"{LANDT}.bdf.csv"), infer_schema=False)
    assert ours.height == reference.height == 25162
    by_label = {
        "test_time_second": "Test Time / s",
        "voltage_volt": "Voltage / V",
        "current_ampere": "Current / A",
        "step_index": "Step Index / 1",
        "discharging_capacity_ah": "Discharging Capacity / Ah",
        "charging_capacity_ah": "Charging Capacity / Ah",
        "ambient_temperature_celsius": "Ambient Temperature / degC",
    }
    assert set(reference.columns) == set(by_label)
    for name, label in by_label.items():
        theirs = reference.get_column(name).cast(pl.Float64).to_numpy()
        mine = ours.get_column(label).cast(pl.Float64).to_numpy()
        assert mine == pytest.approx(theirs, abs=1e-9), label
    # What the reference leaves out, cellprov adds: the cycle number and the step count.
    assert ours.get_column("Cycle Count / 1").unique().sort().to_list() == [1, 2]
    assert ours.get_column("Step Count / 1").unique().sort().to_list() == [1, 2, 3, 4]
