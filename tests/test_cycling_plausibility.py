"""Plausibility checks stored with a test run: a 21700 file under a coin-cell protocol, CE above 100 %,
files that contradict themselves; runs with an error are left out of comparisons unless asked for."""

import polars as pl
import pytest

from clients.cycler_model import lfp_cycling
from service.cycling import plausibility
from service.cycling.detect import read_cycler_file
from service.cycling.readers import ReadOptions
from service.cycling.summary import summarise
from tests.cycler_files import fixture
from tests.lab import ASSEMBLY, CASTING, publish_bench
from tests.test_cycling_api import bench, make_cells, upload

__all__ = ["bench"]  # the autouse fixture publishing the protocols make_cells logs against


def _checks(run: dict) -> dict[str, dict]:
    return {w["check"]: w for w in run["warnings"]}


def test_a_21700_neware_file_under_the_lfp_coin_cell_protocol_is_an_error(api):
    cells = make_cells(api, {"bare Li": 2})["bare Li"]
    good = upload(api, cells[0], lfp_cycling(cycles=20)).json()
    assert good["warnings"] == []
    created = upload(api, cells[1], fixture("neware_nda/TestFile.nda").read_bytes(), name="TestFile.nda")
    assert created.status_code == 201, created.text
    run = created.json()
    found = _checks(run)["capacity_above_theoretical"]
    assert found["level"] == "error"
    assert "LFP gives at most 170 mAh/g (the protocol lfp-li-cycling@1)" in found["message"]
    assert api.get(f"/tests/{run['id']}").json()["warnings"] == run["warnings"]
    # Its first step is a discharge: that half is an incomplete cycle, not a CE of 153 %.
    average_ce = {m["name"]: m["value"] for m in run["metrics"]}["average_ce"]
    assert 99 < average_ce < 100.5

    shown = api.get("/tests/compare").json()
    assert [row["test"] for group in shown["groups"] for row in group["tests"]] == [good["id"]]
    asked = api.get("/tests/compare", params={"with_errors": "true"}).json()
    assert {row["test"] for group in asked["groups"] for row in group["tests"]} == {good["id"], run["id"]}


def test_ce_above_100_after_formation_is_an_error_and_is_stated(api):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    run = upload(api, cell, lfp_cycling(cycles=10, coulombic_efficiency_pct=104)).json()
    found = _checks(run)["ce_above_100"]
    assert found["level"] == "error" and "in 10 of 10 cycles" in found["message"]
    slight = upload(api, cell, lfp_cycling(cycles=10, coulombic_efficiency_pct=101)).json()
    assert _checks(slight)["ce_above_100"]["level"] == "warning"
    formed = upload(
        api, cell, lfp_cycling(cycles=10, coulombic_efficiency_pct=101), formation_cycles=9
    ).json()
    assert "in 1 of 1 cycles" in _checks(formed)["ce_above_100"]["message"]


def test_time_going_backwards_and_a_current_against_its_step_type_are_warned(tmp_path):
    path = tmp_path / "run.csv"
    path.write_bytes(lfp_cycling(cycles=3))
    frame = read_cycler_file(path, ReadOptions()).frame
    assert plausibility.check_run(summarise(frame, "auto", "charge"), frame, 0.01249, None, 0) == []
    times = frame.get_column("time_s").to_list()
    times[5], times[6] = times[6], times[5]
    charging = frame.with_row_index().filter(pl.col("step_kind") == "charge").get_column("index")[3]
    current = frame.get_column("current_mA").to_list()
    current[charging] = -current[charging]
    broken = frame.with_columns(pl.Series("time_s", times), pl.Series("current_mA", current))
    findings = plausibility.check_run(summarise(broken, "auto", "charge"), broken, 0.01249, None, 0)
    assert {f.check: f.level for f in findings} == {"time_backwards": "warning", "current_sign": "warning"}


@pytest.mark.parametrize(
    ("name", "material"),
    [
        ("LFP", "LFP"),
        ("LFP cathode sheet", "LFP"),
        ("ncm811-li-cycling", "NCM811"),
        ("MOF@CoPc/Li anode", "Li"),
        ("Li foil disc", "Li"),
        ("LiFePO4", None),
        ("CR2025 coin cell", None),
    ],
)
def test_the_material_registry_matches_whole_words(name, material):
    assert plausibility.material_named(name) == material


def test_the_cathode_material_is_found_in_the_cells_lineage(api):
    lithium = api.post("/lots", json={"type": "Li foil disc", "quantity": "10 count"}).json()["code"]
    cathode = api.post("/lots", json={"type": "NCM811", "quantity": "10 g"}).json()["code"]
    made = api.post(
        "/steps",
        json={
            "protocol": ASSEMBLY,
            "inputs": [
                {"role": "anode", "item": lithium, "amount": "1 count"},
                {"role": "cathode", "item": cathode, "amount": "12.49 mg"},
            ],
            "outputs": [
                {"type": "CR2025 coin cell", "properties": {"active_mass": {"value": 12.49, "unit": "mg"}}}
            ],
        },
    )
    assert made.status_code == 201, made.text
    cell = made.json()["outputs"][0]["code"]
    run = upload(api, cell, fixture("neware_nda/TestFile.nda").read_bytes(), name="TestFile.nda").json()
    message = _checks(run)["capacity_above_theoretical"]["message"]
    # The lineage's NCM811 wins over the LFP the protocol's name speaks of.
    assert f"NCM811 gives at most 200 mAh/g ({cathode} (NCM811) in the cell's lineage)" in message


def test_without_an_active_mass_it_comes_from_the_cathode_sheet_in_the_lineage(api, admin):
    publish_bench(admin, CASTING)
    lfp = api.post("/lots", json={"type": "LFP", "quantity": "10 g"}).json()["code"]
    cast = api.post(
        "/steps",
        json={
            "protocol": CASTING,
            "inputs": [{"role": "active", "item": lfp, "amount": "1 g"}],
            "outputs": [
                {
                    "type": "LFP cathode sheet",
                    "quantity": "100 cm**2",
                    "properties": {"areal_loading": {"value": 11.05, "unit": "mg/cm**2"}},
                }
            ],
        },
    )
    assert cast.status_code == 201, cast.text
    sheet = cast.json()["outputs"][0]["code"]
    lithium = api.post("/lots", json={"type": "Li foil disc", "quantity": "10 count"}).json()["code"]
    made = api.post(
        "/steps",
        json={
            "protocol": ASSEMBLY,
            "inputs": [
                {"role": "anode", "item": lithium, "amount": "1 count"},
                {"role": "cathode", "item": sheet, "amount": "1.13 cm**2"},
            ],
            "outputs": [{"type": "CR2025 coin cell"}],
        },
    )
    assert made.status_code == 201, made.text
    cell = made.json()["outputs"][0]["code"]
    run = upload(api, cell, lfp_cycling(cycles=5, active_mass_mg=11.05 * 1.13)).json()
    assert run["active_mass_g"] == pytest.approx(11.05 * 1.13 / 1000)
    assert any(f"{sheet} areal_loading 11.05 mg/cm² × 1.13 cm²" in note for note in run["notes"])
    metrics = {m["name"]: m["value"] for m in run["metrics"]}
    assert metrics["initial_specific_capacity"] == pytest.approx(160, rel=1e-3)
    assert run["warnings"] == []
