"""Instruments through the API: a cycler with its channels, other instruments, calibrations, voids."""

from datetime import date, timedelta

from schemas import Role
from tests.lab import pointers, problem_of

NEWARE = {
    "code": "NW1",
    "kind": "cycler",
    "make": "Neware",
    "model": "BTS 4000",
    "serial": "BTS4000-2219",
    "location": "Lab 2.14",
    "channels": 8,
}
GLOVEBOX = {
    "code": "GB-1",
    "kind": "glovebox",
    "make": "MBraun",
    "model": "UNIlab Pro",
    "location": "Lab 2.14",
}


def _calibration(days_ago: int, valid_days: int, **extra):
    done = date.today() - timedelta(days=days_ago)
    return {
        "calibrated_on": done.isoformat(),
        "due_on": (done + timedelta(days=valid_days)).isoformat(),
        "by": "Neware service",
        **extra,
    }


def test_a_cycler_is_registered_with_its_channels(api):
    created = api.post("/instruments", json=NEWARE)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["channels"] == [f"NW1-{n}" for n in range(1, 9)]
    assert body["calibration_state"] == "never"
    assert body["created_by"] == "sam"
    assert api.get("/instruments/NW1").json() == body
    api.post("/instruments", json=GLOVEBOX)
    assert [i["code"] for i in api.get("/instruments").json()] == ["GB-1", "NW1"]
    assert [i["code"] for i in api.get("/instruments", params={"kind": "glovebox"}).json()] == ["GB-1"]
    assert api.get("/instruments/GB-1").json()["channels"] == []


def test_bad_instruments_are_refused_and_nothing_is_written(api):
    assert "/code" in pointers(problem_of(api.post("/instruments", json={**NEWARE, "code": "a b"}), 422))
    problem_of(api.post("/instruments", json={**NEWARE, "channels": None}), 422)
    problem_of(api.post("/instruments", json={**GLOVEBOX, "channels": 2}), 422)
    problem_of(api.post("/instruments", json={**NEWARE, "channels": 0}), 422)
    problem_of(api.post("/instruments", json={**NEWARE, "kind": "microscope"}), 422)
    problem_of(api.post("/instruments", json={**NEWARE, "colour": "blue"}), 422)
    assert api.get("/instruments").json() == []
    assert api.post("/instruments", json=NEWARE).status_code == 201
    assert "/code" in pointers(problem_of(api.post("/instruments", json=NEWARE), 409))
    problem_of(api.get("/instruments/NW9"), 404)


def test_calibrations_decide_the_state_and_a_void_takes_one_back(api):
    api.post("/instruments", json=GLOVEBOX)
    old = api.post("/instruments/GB-1/calibrations", json=_calibration(400, 365))
    assert old.status_code == 201, old.text
    assert api.get("/instruments/GB-1").json()["calibration_state"] == "overdue"
    soon = api.post("/instruments/GB-1/calibrations", json=_calibration(350, 365)).json()
    assert api.get("/instruments/GB-1").json()["calibration_state"] == "due"
    fresh = api.post("/instruments/GB-1/calibrations", json=_calibration(10, 365)).json()
    state = api.get("/instruments/GB-1").json()
    assert state["calibration_state"] == "in_calibration"
    assert state["calibration_due_on"] == fresh["due_on"]

    voided = api.post(f"/instruments/GB-1/calibrations/{fresh['id']}/void", json={"reason": "wrong unit"})
    assert voided.status_code == 200, voided.text
    assert voided.json()["void_reason"] == "wrong unit"
    assert api.get("/instruments/GB-1").json()["calibration_state"] == "due"
    problem_of(api.post(f"/instruments/GB-1/calibrations/{fresh['id']}/void", json={"reason": "again"}), 409)
    listed = api.get("/instruments/GB-1/calibrations").json()
    assert [c["id"] for c in listed] == [old.json()["id"], soon["id"], fresh["id"]]
    assert [c["voided"] for c in listed] == [False, False, True]


def test_a_calibration_certificate_is_a_stored_file(api):
    api.post("/instruments", json=NEWARE)
    unknown = api.post("/instruments/NW1/calibrations", json=_calibration(1, 365, certificate="0" * 64))
    assert "/certificate" in pointers(problem_of(unknown, 422))
    stored = api.post("/files", files={"file": ("cert.pdf", b"%PDF-1.4 calibration", "application/pdf")})
    sha = stored.json()["sha256"]
    created = api.post("/instruments/NW1/calibrations", json=_calibration(1, 365, certificate=sha))
    assert created.status_code == 201, created.text
    assert created.json()["certificate"] == sha
    problem_of(api.post("/instruments/NW1/calibrations", json=_calibration(1, 0)), 422)
    problem_of(api.post("/instruments/NW9/calibrations", json=_calibration(1, 365)), 404)
    assert len(api.get("/instruments/NW1/calibrations").json()) == 1


def test_instrument_writes_are_audited_and_a_voided_instrument_is_not_calibrated(api, admin):
    api.post("/instruments", json=GLOVEBOX)
    api.post("/instruments/GB-1/calibrations", json=_calibration(1, 365))
    voided = api.post("/instruments/GB-1/void", json={"reason": "registered twice"})
    assert voided.status_code == 200, voided.text
    assert voided.json()["status"] == "voided"
    problem_of(api.post("/instruments/GB-1/calibrations", json=_calibration(1, 365)), 409)
    problem_of(api.post("/instruments/GB-1/void", json={"reason": "again"}), 409)
    events = admin.get("/audit", params={"entity_type": "instrument"}).json()
    actions = [e["action"] for e in events["items"]]
    assert {"instrument.registered", "calibration.recorded", "instrument.voided"} <= set(actions)
    assert admin.get("/audit/verify").json()["ok"] is True


def test_readers_see_instruments_and_only_recorders_write(as_role):
    assert as_role[Role.scientist].post("/instruments", json=NEWARE).status_code == 201
    assert as_role[Role.auditor].get("/instruments/NW1").status_code == 200
    assert as_role[Role.reviewer].post("/instruments", json=GLOVEBOX).status_code == 403
