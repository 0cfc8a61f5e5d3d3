"""Arbin `.res` files (an MS Access database, read with access-parser) against cellpy's own summary of the
same file: cellpy's testdata `20160805_test001_45_cc_01.res`, a silicon half cell (SiNODE) that cellpy
processes in its "anode" mode, and cellpy's per-cycle summary of it (`.cellpy_summary.parquet`, from its
golden tests).

The mapping: cellpy numbers cycles by Arbin's `Cycle_Index` (cellprov's `cycle_by=hardware`), its
`charge_capacity_absolute`/`discharge_capacity_absolute` are mAh, Arbin's own charge (delithiation of the
silicon, current > 0) and discharge (lithiation), and its anode-mode CE is charge ÷ discharge, which is
cellprov's `ce_convention=charge/discharge` (the cycle leads with the discharge, as Li‖Cu plating does).
"""

import polars as pl
import pytest

from service.cycling.detect import detect_format, read_cycler_file
from service.cycling.readers import ReadOptions
from tests.cycler_files import fixture
from tests.objectstore import stored_names
from tests.test_cycling_api import bench, make_cells, upload

__all__ = ["bench"]  # the autouse fixture publishing the protocols make_cells logs against

RES = "arbin_res/20160805_test001_45_cc_01.res"
SUMMARY = "arbin_res/20160805_test001_45_cc_01.cellpy_summary.parquet"
# cellpy takes each cycle's largest counter value; cellprov sums its steps' counter differences, which leaves
# differences of a few pAh (4e-9 mAh at most here). Stated bounds: 1 nAh and 1e-4 percentage points of CE.
TOLERANCE_MAH = 1e-6
TOLERANCE_CE_PCT = 1e-4


def _cellpy() -> dict[int, tuple[float, float, float]]:
    """cycle -> (charge mAh, discharge mAh, CE %) from cellpy's summary."""
    summary = pl.read_parquet(fixture(SUMMARY))
    return {
        row["cycle_num"]: (
            row["charge_capacity_absolute"],
            row["discharge_capacity_absolute"],
            row["coulombic_efficiency"],
        )
        for row in summary.iter_rows(named=True)
    }


def test_the_res_reader_gives_the_records_of_channel_normal_table():
    path = fixture(RES)
    assert detect_format(path) == "arbin_res"
    records = read_cycler_file(path, ReadOptions())
    assert (records.file_format, records.parser) == ("arbin_res", "access-parser")
    assert records.parser_version and records.parser_version != "unknown"
    frame = records.frame
    assert frame.height == 10261  # every row of Channel_Normal_Table (SOURCES.md)
    assert frame.get_column("hw_cycle").unique().sort().to_list() == list(range(1, 19))
    assert frame.get_column("time_s").diff().drop_nulls().min() > 0  # type: ignore[operator]
    assert frame.get_column("time_s").first() == pytest.approx(300.0105, abs=1e-3)
    assert frame.get_column("voltage_V").first() == pytest.approx(3.0976, abs=1e-4)
    # C/20 formation (≈0.15 mA) and C/10 cycling (≈0.31 mA) of a ≈1.6 mAh half cell between 0.05 and 1.0 V.
    assert frame.get_column("current_mA").abs().max() == pytest.approx(0.306, abs=3e-3)
    assert 0.04 < frame.get_column("voltage_V").min() < 0.06  # type: ignore[operator]
    assert frame.get_column("capacity_mAh").min() >= 0  # type: ignore[operator]
    assert any("SiNODE" in note for note in records.notes)  # the schedule, from Global_Table


def test_a_damaged_res_gets_a_422_naming_the_format_and_nothing_is_recorded(api, settings):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    head = fixture(RES).read_bytes()[:4096]  # the Jet header page and nothing else
    refused = upload(api, cell, head, name="damaged.res")
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["detail"].startswith("arbin_res:")
    assert api.get(f"/items/{cell}/tests").json() == []
    assert stored_names(settings) == []


@pytest.mark.parametrize("cycle_by", ["hardware", "auto"])
def test_an_uploaded_res_gives_cellpys_per_cycle_capacities_in_anode_mode(api, cycle_by):
    """By Arbin's Cycle_Index, or numbered by cellprov leading with the discharge (a one-record 0.66 µA step
    between the first rest and the first discharge passes no capacity and is no charge)."""
    cell = make_cells(api, {"bare Li": 1}, active_mass_mg=None)["bare Li"][0]
    created = upload(
        api,
        cell,
        fixture(RES).read_bytes(),
        name="20160805_test001_45_cc_01.res",
        cycle_by=cycle_by,
        ce_convention="charge/discharge",
    )
    assert created.status_code == 201, created.text
    run = created.json()
    assert (run["format"], run["parser"], run["leading"]) == ("arbin_res", "access-parser", "discharge")
    cycles = {c["cycle"]: c for c in api.get(f"/tests/{run['id']}/cycles").json()}
    cellpy = _cellpy()
    assert set(cycles) == set(cellpy) == set(range(1, 19))
    for number, (charge, discharge, ce) in cellpy.items():
        cycle = cycles[number]
        assert cycle["hw_cycle"] == number
        assert cycle["charge_mAh"] == pytest.approx(charge, abs=TOLERANCE_MAH), number
        assert cycle["discharge_mAh"] == pytest.approx(discharge, abs=TOLERANCE_MAH), number
        if number < 18:
            assert cycle["complete"] and cycle["ce_pct"] == pytest.approx(ce, abs=TOLERANCE_CE_PCT), number
    # cellpy lists the last cycle (a lithiation the test stopped in) with CE 0; cellprov flags it instead.
    assert not cycles[18]["complete"] and cycles[18]["flag"] == "incomplete: no charge"
    metrics = {m["name"]: m for m in run["metrics"]}
    assert metrics["initial_capacity"]["value"] == pytest.approx(cellpy[1][0], abs=TOLERANCE_MAH)
    assert "charge ÷ discharge" in metrics["average_ce"]["convention"]
    assert metrics["capacity_retention"]["note"] == "cycle 17 against 1"
