"""Test runs through HTTP: upload a cycler file for a cell, read cycles, metrics and plots, compare cells."""

import json

import pytest

from clients.cycler_model import lfp_cycling, li_cu_plating, li_li_symmetric
from tests.cycler_files import fixture
from tests.lab import ASSEMBLY, COATING, publish_bench
from tests.objectstore import stored_names

FILE_STORES = ("local", "s3")  # these tests run on the folder and on a real S3 store

LFP = lfp_cycling(cycles=30)


@pytest.fixture(autouse=True)
def bench(admin):
    """Permissive coating and assembly protocols: these tests are about test runs, not about templates."""
    publish_bench(admin, COATING, ASSEMBLY)


def make_cells(api, anodes: dict[str, int], active_mass_mg: float | None = 12.49) -> dict[str, list[str]]:
    """Coin cells per anode kind: bare Li discs, or discs coated in one step (so they share a batch)."""
    lot = api.post("/lots", json={"type": "Li foil disc", "quantity": "100 count"}).json()["code"]
    cells: dict[str, list[str]] = {}
    for kind, count in anodes.items():
        anode_codes = [lot] * count
        if kind != "bare Li":
            coating = api.post(
                "/steps",
                json={
                    "protocol": COATING,
                    "inputs": [{"role": "substrate", "item": lot, "amount": f"{count} count"}],
                    "outputs": [{"type": kind, "count": count, "quantity": "1 count"}],
                },
            )
            assert coating.status_code == 201, coating.text
            anode_codes = [o["code"] for o in coating.json()["outputs"]]
        for anode in anode_codes:
            properties = {"active_mass": {"value": active_mass_mg, "unit": "mg"}} if active_mass_mg else {}
            made = api.post(
                "/steps",
                json={
                    "protocol": ASSEMBLY,
                    "inputs": [{"role": "anode", "item": anode, "amount": "1 count"}],
                    "outputs": [{"type": "CR2025 coin cell", "properties": properties}],
                },
            )
            assert made.status_code == 201, made.text
            cells.setdefault(kind, []).append(made.json()["outputs"][0]["code"])
    return cells


def upload(
    api, cell: str, content: bytes, name: str = "run.csv", protocol: str = "lfp-li-cycling@1", **options
):
    return api.post(
        f"/items/{cell}/tests",
        files={"file": (name, content)},
        data={"protocol": protocol, "options": json.dumps(options)},
    )


def test_upload_a_cycling_file_and_read_it_back(api):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    created = upload(api, cell, LFP)
    assert created.status_code == 201, created.text
    run = created.json()
    assert (run["cell"], run["protocol"], run["kind"], run["format"]) == (
        cell,
        "lfp-li-cycling@1",
        "cycling",
        "neware_csv",
    )
    assert run["parser"] == "cellprov.neware_csv" and run["parser_version"]
    assert run["cycle_count"] == 30 and run["leading"] == "charge"
    assert run["active_mass_g"] == pytest.approx(0.01249)
    metrics = {m["name"]: m["value"] for m in run["metrics"]}
    assert metrics["initial_specific_capacity"] == pytest.approx(160, rel=1e-3)
    assert metrics["fade_per_cycle"] == pytest.approx(0.05, abs=1e-3)
    assert metrics["average_ce"] == pytest.approx(99.8, abs=0.01)
    assert metrics["cycles_to_80pct"] is None

    assert api.get(f"/tests/{run['id']}").json() == run
    cycles = api.get(f"/tests/{run['id']}/cycles").json()
    assert [c["cycle"] for c in cycles] == list(range(1, 31))
    assert cycles[0]["discharge_mAh_g"] == pytest.approx(160, rel=1e-3)
    assert cycles[0]["mean_discharge_V"] < cycles[0]["mean_charge_V"]
    as_csv = api.get(f"/tests/{run['id']}/cycles", params={"format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert len(as_csv.text.strip().splitlines()) == 31
    assert api.get(f"/tests/{run['id']}/metrics").json() == run["metrics"]
    png = api.get(f"/tests/{run['id']}/plot.png")
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    svg = api.get(f"/tests/{run['id']}/plot.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    assert api.get(run["file"]["url"]).content == LFP
    assert [t["id"] for t in api.get(f"/items/{cell}/tests").json()] == [run["id"]]
    # Read again from the store (a local copy for the parser), wherever the store is.
    profiles = api.get(f"/tests/{run['id']}/profiles", params={"cycles": "1"})
    assert profiles.status_code == 200 and profiles.json()["profiles"]


def test_a_vendor_binary_goes_through_http(api):
    cell = make_cells(api, {"bare Li": 1}, active_mass_mg=None)["bare Li"][0]
    content = fixture("neware_ndax/46_1_5_60_bts16.ndax").read_bytes()
    run = upload(api, cell, content, name="whatever.bin").json()
    assert (run["format"], run["parser"], run["record_count"]) == ("neware_ndax", "fastnda", 84)
    cycle = api.get(f"/tests/{run['id']}/cycles").json()[0]
    assert cycle["charge_mAh"] == pytest.approx(16.6815, abs=6e-4)
    assert cycle["charge_mAh_g"] is None


def test_unreadable_files_get_a_422_naming_the_format_and_nothing_is_recorded(api, settings):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    refused = upload(api, cell, b"NEWARE but not really", name="x.nda")
    assert refused.status_code == 422
    problem = refused.json()
    assert refused.headers["content-type"] == "application/problem+json"
    assert problem["detail"].startswith("neware_nda:")
    unknown = upload(api, cell, b"a,b\n1,2\n")
    assert unknown.status_code == 422 and "column mapping" in unknown.json()["detail"]
    bad_options = upload(api, cell, LFP, cycle_by="sometimes")
    assert bad_options.status_code == 422
    assert bad_options.json()["errors"][0]["pointer"] == "/options/cycle_by"
    wrong_mass = upload(api, cell, LFP, active_mass="12 mL")
    assert wrong_mass.status_code == 422
    assert api.get(f"/items/{cell}/tests").json() == []
    assert upload(api, "NOPE-0001", LFP).status_code == 404
    # Refused, read or not: none of these uploads left a byte in the store, staged or kept.
    assert stored_names(settings) == []


def test_li_cu_and_symmetric_metrics(api):
    cells = make_cells(api, {"bare Li": 2})["bare Li"]
    li_cu = upload(api, cells[0], li_cu_plating(), protocol="li-cu-coulombic-efficiency@1").json()
    assert li_cu["kind"] == "li_cu" and li_cu["leading"] == "discharge"
    ce = {m["name"]: m["value"] for m in li_cu["metrics"]}["average_ce"]
    assert ce == pytest.approx(98.85, abs=0.05)
    symmetric = upload(
        api, cells[1], li_li_symmetric(hours=200), protocol="li-li-symmetric@1", overpotential_limit_V=0.03
    ).json()
    hours = {m["name"]: m["value"] for m in symmetric["metrics"]}["hours_to_overpotential_limit"]
    # 20 mV growing 0.1 mV/h, 10 % above base within each half cycle: 30 mV is passed after about 70-100 h.
    assert 60 < hours < 100


def test_compare_groups_cells_by_anode_kind_and_by_batch(api):
    cells = make_cells(api, {"bare Li": 2, "MOF@CoPc/Li anode": 2})
    for kind, fade in (("bare Li", 0.3), ("MOF@CoPc/Li anode", 0.02)):
        for cell in cells[kind]:
            assert upload(api, cell, lfp_cycling(cycles=20, fade_per_cycle_pct=fade)).status_code == 201
    by_anode = api.get("/tests/compare", params={"by": "role:anode", "protocol": "lfp-li-cycling@1"}).json()
    groups = {g["group"]: g for g in by_anode["groups"]}
    assert set(groups) == {"Li foil disc", "MOF@CoPc/Li anode"}
    assert groups["MOF@CoPc/Li anode"]["n"] == 2
    assert (
        groups["MOF@CoPc/Li anode"]["mean"]["fade_per_cycle"]
        < groups["Li foil disc"]["mean"]["fade_per_cycle"]
    )
    by_type = api.get("/tests/compare", params={"by": "type:MOF@CoPc/Li anode"}).json()
    assert {g["group"] for g in by_type["groups"]} == {"(no MOF@CoPc/Li anode)", *cells_anodes(api, cells)}
    plot = api.get("/tests/compare", params={"by": "role:anode", "format": "png"})
    assert plot.headers["content-type"] == "image/png"
    assert api.get("/tests/compare", params={"by": "colour"}).status_code == 422


def cells_anodes(api, cells) -> set[str]:
    anodes = set()
    for cell in cells["MOF@CoPc/Li anode"]:
        lineage = api.get(f"/items/{cell}/lineage", params={"direction": "up", "max_depth": 1}).json()
        anodes |= {n["code"] for n in lineage["nodes"] if n["type"] == "MOF@CoPc/Li anode"}
    return anodes


def test_test_runs_appear_in_lineage_below_the_items_they_describe(api):
    cells = make_cells(api, {"bare Li": 1})
    cell = cells["bare Li"][0]
    run = upload(api, cell, LFP).json()
    lot = api.get(f"/items/{cell}/lineage", params={"direction": "up"}).json()["nodes"][-1]["code"]
    down = api.get(f"/items/{lot}/lineage", params={"direction": "down"}).json()
    assert {"id": run["id"], "item": cell, "protocol": "lfp-li-cycling@1", "status": "recorded"} in down[
        "tests"
    ]


def test_a_retried_upload_records_one_test_run(api):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    headers = {"Idempotency-Key": "cell-upload-1"}
    first = api.post(
        f"/items/{cell}/tests",
        files={"file": ("a.csv", LFP)},
        data={"protocol": "lfp-li-cycling@1"},
        headers=headers,
    )
    again = api.post(
        f"/items/{cell}/tests",
        files={"file": ("a.csv", LFP)},
        data={"protocol": "lfp-li-cycling@1"},
        headers=headers,
    )
    assert first.json() == again.json()
    assert len(api.get(f"/items/{cell}/tests").json()) == 1
