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
    day = run["created_at"][:10].replace("-", "")
    assert disposition.endswith(f'__{cell}__{day}_{run["id"]:03d}.bdf.csv"')
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


def test_parquet_holds_the_same_table_and_batterydf_accepts_both(api, tmp_path):
    bdf = pytest.importorskip("bdf", reason="the batterydf package (dev extra) is not installed")
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    run, text = _export(api, cell, f"{LANDT}.csv")
    parquet = api.get(f"/tests/{run['id']}/records", params={"format": "bdf-parquet"})
    assert parquet.status_code == 200, parquet.text
    assert parquet.headers["content-type"] == "application/vnd.apache.parquet"
    assert parquet.headers["content-disposition"].endswith('.bdf.parquet"')
    assert _table(parquet, "bdf-parquet").equals(_table(text))
    for suffix, body in ((".bdf.csv", text.content), (".bdf.parquet", parquet.content)):
        path = tmp_path / f"export{suffix}"
        path.write_bytes(body)
        read = bdf.read(path)
        report = bdf.validate(read, report=True, raise_on_error=False)
        assert report["ok"] and not report["missing"] and not report["extras"], report
        assert set(read.columns) <= set(report["required"]) | set(report["optional"])


@pytest.mark.parametrize(
    "relative",
    ["neware_nda/TestFile.nda", "neware_ndax/nw4-120-1-6-53.ndax", "neware_ndax/46_1_5_60_bts16.ndax"],
)
def test_neware_binaries_come_out_with_charging_positive_and_the_vendors_numbers(api, relative):
    cell = make_cells(api, {"bare Li": 1}, active_mass_mg=None)["bare Li"][0]
    run, answer = _export(api, cell, relative)
    table = _table(answer)
    assert table.columns[:3] == REQUIRED
    for label in ("Unix Time / s", "Cycle Count / 1", "Step Count / 1", "Step Index / 1"):
        assert label in table.columns, label
    assert table.height == run["record_count"]
    # Charging is positive, whatever sign the vendor's file stores: every record of a charging step has a
    # current >= 0 and every record of a discharging one <= 0.
    charging = table.filter(pl.col("Charging Capacity / Ah") > 0)
    discharging = table.filter(pl.col("Discharging Capacity / Ah") > 0)
    assert charging.height and discharging.height
    assert charging.get_column("Current / A").min() >= 0
    assert discharging.get_column("Current / A").max() <= 0
    # Against the vendor's own export (BTSDA), row by row, in BDF's units.
    btsda = pl.read_parquet(fixture(relative.rsplit(".", 1)[0] + ".btsda.parquet"))
    assert table.height == btsda.height
    assert table.get_column("Voltage / V").to_numpy() == pytest.approx(
        btsda.get_column("Voltage(mV)").to_numpy() / 1000, abs=5.1e-5
    )
    assert table.get_column("Current / A").to_numpy() == pytest.approx(
        btsda.get_column("Current(uA)").to_numpy() / 1e6, abs=5.1e-5
    )
    step_q = table.select(pl.col("Charging Capacity / Ah") + pl.col("Discharging Capacity / Ah")).to_series()
    vendor_q = btsda.get_column("Capacity(mAs)").abs().to_numpy() / 3.6e6  # absolute, per step
    assert step_q.to_numpy() == pytest.approx(vendor_q, abs=6e-7)
    assert table.get_column("Step Index / 1").to_list() == btsda.get_column("Step Index").to_list()
    # Cycles are cellprov's, the ones its per-cycle data answers with.
    cycles = {c["cycle"] for c in api.get(f"/tests/{run['id']}/cycles").json()}
    assert cycles <= set(table.get_column("Cycle Count / 1").to_list())


def test_a_bad_format_or_an_unknown_test_is_a_4xx_problem(api):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    run, _ = _export(api, cell, f"{LANDT}.csv")
    for params, status in (({"format": "xlsx"}, 422), ({"format": "BDF"}, 422)):
        refused = api.get(f"/tests/{run['id']}/records", params=params)
        assert refused.status_code == status, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "format" in refused.text
    missing = api.get("/tests/999999/records", params={"format": "bdf"})
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "relative",
    [
        "arbin_csv/FastCharge_000025_CH8.csv",
        "maccor_txt/PreDiag_000229_000229_truncated.034",
        "biologic_mpr/gcpl.issue_149.mpr",
        "neware_csv/interp-test.csv",
    ],
)
def test_other_vendors_come_out_with_charging_positive_and_batterydf_reads_them(api, relative, tmp_path):
    if relative.endswith(".mpr"):
        pytest.importorskip("galvani", reason="galvani (the BioLogic extra) is not installed")
    cell = make_cells(api, {"bare Li": 1}, active_mass_mg=None)["bare Li"][0]
    run, answer = _export(api, cell, relative)
    table = _table(answer)
    assert table.columns[:3] == REQUIRED and table.height == run["record_count"]
    if "Charging Capacity / Ah" in table.columns:
        charging = table.filter(pl.col("Charging Capacity / Ah") > 0)
        discharging = table.filter(pl.col("Discharging Capacity / Ah") > 0)
        assert charging.height == 0 or charging.get_column("Current / A").min() >= 0
        assert discharging.height == 0 or discharging.get_column("Current / A").max() <= 0
    if relative.startswith("arbin"):
        assert {"Unix Time / s", "Surface Temperature T1 / degC", "Step Index / 1"} <= set(table.columns)
    bdf = pytest.importorskip("bdf", reason="the batterydf package (dev extra) is not installed")
    path = tmp_path / "export.bdf.csv"
    path.write_bytes(answer.content)
    report = bdf.validate(bdf.read(path), report=True, raise_on_error=False)
    assert report["ok"] and not report["extras"], report
