"""Analyses and the electrochemistry calculators, with known answers."""

import math

import pytest

from service.analyses import calculators
from tests.test_cycling_api import bench, make_cells

__all__ = ["bench"]  # the autouse fixture publishing the protocols make_cells logs against

R = calculators.GAS_CONSTANT


def test_bruce_vincent_known_answer():
    # Is(ΔV − I0R0) / (I0(ΔV − IsRs)) with ΔV 10 mV, I0 20 µA, Is 16 µA, R0 100 Ω, Rs 110 Ω.
    t = calculators.transference_number(0.010, 20e-6, 16e-6, 100, 110)
    assert t == pytest.approx(16e-6 * (0.010 - 20e-6 * 100) / (20e-6 * (0.010 - 16e-6 * 110)))


def test_tafel_recovers_the_exchange_current_density():
    i0, slope = 0.45, 0.118  # mA cm⁻², V per decade
    currents = [i0 * 10 ** (k / 10) for k in range(5, 20)]
    etas = [slope * math.log10(i / i0) for i in currents]
    fit = calculators.tafel(etas, currents, 303.15)
    assert fit.exchange_current_density == pytest.approx(i0, rel=1e-9)
    assert fit.tafel_slope_V_per_decade == pytest.approx(slope)


def test_arrhenius_recovers_the_activation_energy():
    ea = 44.29e3
    temperatures = [283.15, 293.15, 303.15, 313.15, 323.15]
    rct = [1 / (2.0e6 * math.exp(-ea / (R * t))) for t in temperatures]
    assert calculators.arrhenius(temperatures, rct).activation_energy_J_per_mol == pytest.approx(ea, rel=1e-9)


def test_record_an_analysis_with_files_and_results(api):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    spectrum = api.post("/files", files={"file": ("f1s.csv", b"eV,counts\n685,120\n686,300\n")}).json()
    created = api.post(
        "/analyses",
        json={
            "technique": "XPS",
            "subjects": [cell],
            "instrument": "Thermo K-Alpha",
            "performed_at": "2025-03-10T10:00:00Z",
            "results": [{"name": "LiF fraction", "value": 41.7, "unit": "%"}],
            "files": [{"sha256": spectrum["sha256"], "label": "F 1s"}],
        },
    )
    assert created.status_code == 201, created.text
    analysis = created.json()
    assert analysis["results"] == [{"name": "LiF fraction", "value": 41.7, "unit": "%", "note": ""}]
    assert analysis["files"][0]["url"] == spectrum["url"]
    assert api.get(f"/analyses/{analysis['id']}").json() == analysis
    assert [a["id"] for a in api.get(f"/items/{cell}/analyses").json()] == [analysis["id"]]
    lot = api.get(f"/items/{cell}/lineage").json()["nodes"][-1]["code"]
    down = api.get(f"/items/{lot}/lineage", params={"direction": "down"}).json()
    assert {"id": analysis["id"], "item": cell, "technique": "XPS", "title": ""} in down["analyses"]


def test_bad_analyses_are_refused(api):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    for body, pointer in (
        ({"technique": "astrology", "subjects": [cell]}, "/technique"),
        ({"technique": "XRD", "subjects": ["NOPE-1"]}, "/subjects/0"),
        (
            {
                "technique": "XRD",
                "subjects": [cell],
                "results": [{"name": "x", "value": 1, "unit": "furlongs/"}],
            },
            "/results/0/unit",
        ),
        ({"technique": "XRD", "subjects": [cell], "files": [{"sha256": "a" * 64}]}, "/files/0/sha256"),
    ):
        refused = api.post("/analyses", json=body)
        assert refused.status_code == 422, body
        assert refused.json()["errors"][0]["pointer"] == pointer


def test_calculators_store_their_result_as_an_analysis(api):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    temperatures = [10, 20, 30, 40, 50]
    points = [
        {
            "temperature": f"{t} degC",
            "rct": f"{1 / (2.0e6 * math.exp(-44.29e3 / (R * (t + 273.15)))):.10g} ohm",
        }
        for t in temperatures
    ]
    ea = api.post("/calculators/arrhenius", json={"subjects": [cell], "points": points})
    assert ea.status_code == 201, ea.text
    result = {r["name"]: r for r in ea.json()["results"]}["activation energy"]
    assert (result["value"], result["unit"]) == (pytest.approx(44.29, abs=1e-3), "kJ/mol")
    assert ea.json()["calculator"] == "arrhenius" and ea.json()["technique"] == "EIS"

    tafel_points = [
        {"overpotential": f"{118 * math.log10(i / 0.45):.6f} mV", "current_density": f"{i} mA/cm**2"}
        for i in (1, 2, 5, 10, 20)
    ]
    tafel = api.post(
        "/calculators/tafel",
        json={"subjects": [cell], "points": tafel_points, "derived_from": [ea.json()["id"]]},
    )
    assert tafel.status_code == 201, tafel.text
    i0 = {r["name"]: r for r in tafel.json()["results"]}["exchange current density"]
    assert i0["value"] == pytest.approx(0.45, rel=1e-4) and i0["unit"] == "mA/cm**2"

    bv = api.post(
        "/calculators/bruce-vincent",
        json={"subjects": [cell], "I0": "20 µA", "Is": "16 µA", "R0": "100 ohm", "Rs": "110 ohm"},
    )
    assert bv.status_code == 201, bv.text
    t = bv.json()["results"][0]["value"]
    assert t == pytest.approx(calculators.transference_number(0.01, 20e-6, 16e-6, 100, 110))
    wrong = api.post(
        "/calculators/bruce-vincent",
        json={"subjects": [cell], "I0": "20 g", "Is": "16 µA", "R0": "100 ohm", "Rs": "110 ohm"},
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["pointer"] == "/I0"
    assert len(api.get(f"/items/{cell}/analyses").json()) == 3
