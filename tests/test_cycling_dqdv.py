"""dQ/dV of a generated curve with known plateaus: the peaks sit at the plateaus' voltages."""

import csv
import io
import math

import pytest

from tests.test_cycling_api import bench, make_cells, upload

__all__ = ["bench"]  # the autouse fixture publishing the protocols make_cells logs against

PLATEAUS_V = (3.45, 3.95)
WIDTH_V = 0.01
CURRENT_MA = 1.0


def _capacity(volts: float) -> float:
    """mAh passed at `volts`: two plateaus of 0.4 mAh each over a 0.2 mAh sloping background."""
    steps = sum(0.4 / (1 + math.exp(-(volts - p) / WIDTH_V)) for p in PLATEAUS_V)
    return steps + 0.2 * (volts - 3.2)


def _two_plateau_file(cycles: int = 2) -> bytes:
    """A charge from 3.2 to 4.2 V and a discharge back, at 1 mA, sampled every millivolt."""
    rows, t = ["t,U,I"], 0.0
    grid = [3.2 + k / 1000 for k in range(1001)]
    for _ in range(cycles):
        for direction, volts in ((1, grid), (-1, grid[::-1])):
            previous = None
            for v in volts:
                q = _capacity(v)
                if previous is not None:
                    t += abs(q - previous) / CURRENT_MA * 3600
                rows.append(f"{t:.4f},{v:.4f},{direction * CURRENT_MA}")
                previous = q
            t += 1.0
    return ("\n".join(rows) + "\n").encode()


MAPPING = {"columns": {"time": "t", "voltage": "U", "current": "I"}, "units": {"time": "s", "current": "mA"}}


def test_dqdv_peaks_at_the_plateaus_on_charge_and_discharge(api):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    created = upload(api, cell, _two_plateau_file(), name="plateaus.csv", **MAPPING)
    assert created.status_code == 201, created.text
    run = created.json()
    answer = api.get(f"/tests/{run['id']}/dqdv", params={"cycles": "1,2"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "5 mV grid" in body["method"] and "5-point moving average" in body["method"]
    assert [(c["cycle"], c["direction"]) for c in body["curves"]] == [
        (1, "charge"),
        (1, "discharge"),
        (2, "charge"),
        (2, "discharge"),
    ]
    for curve in body["curves"]:
        volts, slope = curve["voltage_V"], curve["dqdv_mAh_per_V"]
        sign = 1 if curve["direction"] == "charge" else -1
        for plateau in PLATEAUS_V:
            near = [(sign * s, v) for v, s in zip(volts, slope, strict=True) if abs(v - plateau) < 0.1]
            peak_height, peak_at = max(near)
            assert peak_at == pytest.approx(plateau, abs=0.006), curve["direction"]
            # 0.4 mAh over a logistic of 10 mV width peaks at 10 mAh/V (+0.2 background), smoothing lowers it.
            assert 7 < peak_height < 10.5

    sheet = api.get(f"/tests/{run['id']}/dqdv", params={"cycles": "2", "format": "csv"}).text
    assert sheet.startswith("# capacity integrated")
    rows = list(csv.DictReader(io.StringIO(sheet.split("\n", 1)[1])))
    assert {r["direction"] for r in rows} == {"charge", "discharge"} and {r["cycle"] for r in rows} == {"2"}


def test_dqdv_defaults_and_refusals(api):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    run = upload(api, cell, _two_plateau_file(cycles=3), name="plateaus.csv", **MAPPING).json()
    default = api.get(f"/tests/{run['id']}/dqdv").json()
    assert sorted({c["cycle"] for c in default["curves"]}) == [1, 3]
    for cycles in ("7", "one", "1,,2"):
        refused = api.get(f"/tests/{run['id']}/dqdv", params={"cycles": cycles})
        assert refused.status_code == 422, cycles
        assert refused.json()["errors"][0]["pointer"] == "query:cycles"
    assert api.get(f"/tests/{run['id']}/dqdv", params={"resolution_mV": 0}).status_code == 422
    assert api.get("/tests/424242/dqdv").status_code == 404


def test_the_python_client_reads_dqdv_and_the_metrics_sheet(api, app):
    from fastapi.testclient import TestClient

    from clients.client import Client

    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    run = upload(api, cell, _two_plateau_file(), name="plateaus.csv", **MAPPING).json()
    with Client(http=TestClient(app, base_url="http://testserver", headers=dict(api.headers))) as client:
        answer = client.dqdv(run["id"], cycles=[2], resolution_mV=10, smoothing=3)
        assert "10 mV grid" in answer.method and {c.cycle for c in answer.curves} == {2}
        assert client.metrics_csv(run["id"]).startswith("name,value,unit,note,convention")
        assert client.plot(run["id"], "svg", from_zero=True).startswith(b"<?xml")


def test_voltage_profiles_run_from_zero_to_the_half_cycles_capacity(api):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    run = upload(api, cell, _two_plateau_file(), name="plateaus.csv", **MAPPING).json()
    answer = api.get(f"/tests/{run['id']}/profiles", params={"cycles": "2"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(p["cycle"], p["direction"]) for p in body["profiles"]] == [(2, "charge"), (2, "discharge")]
    charge, discharge = body["profiles"]
    total = _capacity(4.2) - _capacity(3.2)
    assert charge["capacity_mAh"][0] == 0 and charge["capacity_mAh"][-1] == pytest.approx(total, rel=1e-3)
    assert charge["voltage_V"][0] == pytest.approx(3.2) and charge["voltage_V"][-1] == pytest.approx(4.2)
    assert discharge["voltage_V"][0] == pytest.approx(4.2) and len(discharge["voltage_V"]) <= 500
    assert charge["capacity_mAh_g"][-1] == pytest.approx(total / run["active_mass_g"], rel=1e-3)
    sheet = api.get(f"/tests/{run['id']}/profiles", params={"cycles": "2", "format": "csv"}).text
    assert sheet.splitlines()[1] == "cycle,direction,capacity_mAh,capacity_mAh_g,voltage_V"
    assert api.get(f"/tests/{run['id']}/profiles", params={"cycles": "9"}).status_code == 422
