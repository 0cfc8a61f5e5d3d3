"""Steps and test runs bound to their instruments: roles in templates, the calibration state kept, refusals
on templates that demand calibrated equipment unless a deviation is written, lineage and PROV, the impact."""

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from clients.cycler_model import lfp_cycling
from service.audit import logic as audit
from service.db import open_session
from service.templates.logic import load_library
from tests.lab import ASSEMBLY, pointers, problem_of, publish_bench, used
from tests.test_instruments import GLOVEBOX, NEWARE, _calibration

GLOVE_ASSEMBLY = "glovebox-assembly"
CALIBRATED_CYCLING = "lfp-li-cycling@2"
TEMPLATE_FIELDS = ("name", "title", "description", "kind", "parameters", "inputs", "outputs", "constants")


def _assembly_template(admin, *, demands: bool, version: int = 1) -> dict[str, Any]:
    """The bench assembly with a glovebox role (and a balance that may be named), published."""
    bench = admin.get(f"/templates/{ASSEMBLY.split('@')[0]}/versions/1").json()
    body = {field: bench[field] for field in TEMPLATE_FIELDS}
    body |= {
        "name": GLOVE_ASSEMBLY,
        "version": version,
        "instruments": [
            {"role": "glovebox", "kind": "glovebox"},
            {"role": "balance", "kind": "balance", "required": False},
        ],
        "requires_calibrated_equipment": demands,
    }
    response = admin.post("/templates", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _publish_calibrated_cycling(admin) -> None:
    """lfp-li-cycling@2: the library's protocol, now demanding calibrated cyclers (a new version)."""
    first = admin.get("/templates/lfp-li-cycling/versions/1").json()
    body = {field: first[field] for field in (*TEMPLATE_FIELDS, "derived", "checks")}
    body |= {"version": 2, "requires_calibrated_equipment": True}
    response = admin.post("/templates", json=body)
    assert response.status_code == 201, response.text


@pytest.fixture
def lab(api, admin) -> dict[str, str]:
    publish_bench(admin, ASSEMBLY)
    for instrument in (GLOVEBOX, {**GLOVEBOX, "code": "GB-2"}, NEWARE, {"code": "BAL-1", "kind": "balance"}):
        assert api.post("/instruments", json=instrument).status_code == 201
    api.post("/instruments/GB-1/calibrations", json=_calibration(30, 365))
    api.post("/instruments/GB-2/calibrations", json=_calibration(400, 365))  # overdue for 35 days
    lot = api.post("/lots", json={"type": "Li foil disc", "quantity": "100 count"}).json()["code"]
    return {"lot": lot}


def _assemble(api, lot: str, protocol: str, instruments: list[dict[str, str]], **fields: Any):
    return api.post(
        "/steps",
        json={
            "protocol": protocol,
            "inputs": [used("anode", lot, "1 count")],
            "outputs": [{"type": "CR2025 coin cell"}],
            "instruments": instruments,
            **fields,
        },
    )


def _steps(api) -> int:
    return len(api.get("/steps").json()["items"])


def test_a_step_names_its_glovebox_and_keeps_its_calibration_state(api, admin, lab):
    _assembly_template(admin, demands=False)
    logged = _assemble(api, lab["lot"], f"{GLOVE_ASSEMBLY}@1", [{"role": "glovebox", "instrument": "GB-1"}])
    assert logged.status_code == 201, logged.text
    step = logged.json()
    assert step["instruments"] == [
        {
            "role": "glovebox",
            "instrument": "GB-1",
            "kind": "glovebox",
            "calibration_state": "in_calibration",
            "calibration_due_on": (date.today() + timedelta(days=335)).isoformat(),
            "warning": None,
        }
    ]
    assert api.get(f"/steps/{step['id']}").json()["instruments"] == step["instruments"]

    # Not demanded by this template: an overdue glovebox is a warning kept on the step, not a refusal.
    overdue = _assemble(api, lab["lot"], f"{GLOVE_ASSEMBLY}@1", [{"role": "glovebox", "instrument": "GB-2"}])
    assert overdue.status_code == 201, overdue.text
    shown = overdue.json()["instruments"][0]
    assert shown["calibration_state"] == "overdue"
    assert shown["warning"] == f"GB-2 was overdue on {date.today().isoformat()}"
    assert overdue.json()["deviating"] is False

    # The state is the one on the step's day: a step logged for last year found GB-1 never calibrated.
    a_year_ago = (datetime.now(UTC) - timedelta(days=365)).isoformat()
    old = _assemble(
        api,
        lab["lot"],
        f"{GLOVE_ASSEMBLY}@1",
        [{"role": "glovebox", "instrument": "GB-1"}],
        started_at=a_year_ago,
    )
    assert old.json()["instruments"][0]["calibration_state"] == "never"


def test_roles_kinds_voids_and_unknown_instruments_are_refused_and_nothing_is_written(api, admin, lab):
    _assembly_template(admin, demands=False)
    ref = f"{GLOVE_ASSEMBLY}@1"
    before = _steps(api)
    missing = problem_of(_assemble(api, lab["lot"], ref, []), 422)
    assert "/instruments" in pointers(missing)
    assert "glovebox" in json.dumps(missing["errors"])
    wrong_role = problem_of(
        _assemble(
            api,
            lab["lot"],
            ref,
            [{"role": "glovebox", "instrument": "GB-1"}, {"role": "oven", "instrument": "GB-2"}],
        ),
        422,
    )
    assert pointers(wrong_role) == {"/instruments/1/role"}
    wrong_kind = problem_of(
        _assemble(api, lab["lot"], ref, [{"role": "glovebox", "instrument": "BAL-1"}]), 422
    )
    assert pointers(wrong_kind) == {"/instruments/0/instrument"}
    assert "BAL-1 is a balance" in json.dumps(wrong_kind["errors"])
    unknown = problem_of(_assemble(api, lab["lot"], ref, [{"role": "glovebox", "instrument": "GB-9"}]), 422)
    assert pointers(unknown) == {"/instruments/0/instrument"}
    twice = problem_of(
        _assemble(
            api,
            lab["lot"],
            ref,
            [{"role": "glovebox", "instrument": "GB-1"}, {"role": "glovebox", "instrument": "GB-2"}],
        ),
        422,
    )
    assert pointers(twice) == {"/instruments/1/role"}
    api.post("/instruments/GB-2/void", json={"reason": "registered twice"})
    voided = problem_of(_assemble(api, lab["lot"], ref, [{"role": "glovebox", "instrument": "GB-2"}]), 422)
    assert "GB-2 is voided" in json.dumps(voided["errors"])
    # A template without instrument roles takes none.
    bare = problem_of(_assemble(api, lab["lot"], ASSEMBLY, [{"role": "glovebox", "instrument": "GB-1"}]), 422)
    assert pointers(bare) == {"/instruments/0/role"}
    assert _steps(api) == before
    assert api.get(f"/items/{lab['lot']}").json()["remaining"]["value"] == 100


def test_an_overdue_glovebox_on_a_template_demanding_calibration_needs_a_deviation(api, admin, lab):
    _assembly_template(admin, demands=True)
    ref = f"{GLOVE_ASSEMBLY}@1"
    before = _steps(api)
    refused = problem_of(_assemble(api, lab["lot"], ref, [{"role": "glovebox", "instrument": "GB-2"}]), 422)
    assert pointers(refused) == {"/instruments/0"}
    (error,) = refused["errors"]
    assert "GB-2 was overdue" in error["detail"] and "demands calibrated equipment" in error["detail"]
    assert (error["expected"], error["got"]) == ("in_calibration", "overdue")
    assert _steps(api) == before

    justification = "GB-1 down for regeneration; GB-2 O2 sensor checked against GB-1 this morning"
    accepted = _assemble(
        api,
        lab["lot"],
        ref,
        [{"role": "glovebox", "instrument": "GB-2"}],
        deviations=[{"field": "/instruments/0", "justification": justification}],
    )
    assert accepted.status_code == 201, accepted.text
    step = accepted.json()
    assert step["deviating"] is True
    assert step["deviations"] == [
        {
            "field": "/instruments/0",
            "justification": justification,
            "expected": "in_calibration",
            "got": "overdue",
        }
    ]
    assert api.get("/steps", params={"deviating": "true"}).json()["items"][0]["id"] == step["id"]
    # In calibration, the template takes the step as it is; a deviation with nothing to excuse is refused.
    fine = _assemble(api, lab["lot"], ref, [{"role": "glovebox", "instrument": "GB-1"}])
    assert fine.status_code == 201, fine.text
    needless = _assemble(
        api,
        lab["lot"],
        ref,
        [{"role": "glovebox", "instrument": "GB-1"}],
        deviations=[{"field": "/instruments/0", "justification": justification}],
    )
    assert pointers(problem_of(needless, 422)) == {"/deviations/0/field"}


def test_lineage_and_prov_show_the_instruments_a_step_used(api, admin, lab):
    _assembly_template(admin, demands=False)
    step = _assemble(
        api,
        lab["lot"],
        f"{GLOVE_ASSEMBLY}@1",
        [{"role": "glovebox", "instrument": "GB-1"}, {"role": "balance", "instrument": "BAL-1"}],
    ).json()
    cell = step["outputs"][0]["code"]
    lineage = api.get(f"/items/{cell}/lineage", params={"direction": "up"}).json()
    assert lineage["instruments"] == [
        {
            "step": step["id"],
            "role": "glovebox",
            "instrument": "GB-1",
            "kind": "glovebox",
            "calibration_state": "in_calibration",
        },
        {
            "step": step["id"],
            "role": "balance",
            "instrument": "BAL-1",
            "kind": "balance",
            "calibration_state": "never",
        },
    ]
    prov = api.get(f"/items/{cell}/export", params={"format": "prov-json"}).json()
    entities = prov["entity"]
    glovebox = next(key for key in entities if key.endswith("GB-1"))
    assert entities[glovebox]["prov:type"]["$"] == "cellprov:Instrument"
    usages = [u for u in prov["used"].values() if u["prov:entity"] == glovebox]
    assert len(usages) == 1 and usages[0]["prov:activity"].endswith(str(step["id"]))
    assert usages[0]["prov:role"] == "glovebox" and usages[0]["cellprov:calibrationState"] == "in_calibration"


def _cell(api, lab) -> str:
    step = api.post(
        "/steps",
        json={
            "protocol": ASSEMBLY,
            "inputs": [used("anode", lab["lot"], "1 count")],
            "outputs": [{"type": "CR2025 coin cell"}],
        },
    )
    assert step.status_code == 201, step.text
    return step.json()["outputs"][0]["code"]


def _upload(api, cell: str, protocol: str, **options):
    return api.post(
        f"/items/{cell}/tests",
        files={"file": ("run.csv", lfp_cycling(cycles=5))},
        data={"protocol": protocol, "options": json.dumps(options)},
    )


def test_a_run_on_an_overdue_channel_under_a_protocol_demanding_calibration_needs_a_deviation(
    api, admin, lab
):
    _publish_calibrated_cycling(admin)
    api.post("/instruments/NW1/calibrations", json=_calibration(400, 365))  # overdue
    cell = _cell(api, lab)
    refused = problem_of(_upload(api, cell, CALIBRATED_CYCLING, channel="NW1-3"), 422)
    (error,) = refused["errors"]
    assert error["pointer"] == "/options/channel"
    assert "NW1-3" in error["detail"] and "overdue" in error["detail"] and error["got"] == "overdue"
    unknown = problem_of(_upload(api, cell, CALIBRATED_CYCLING), 422)  # no channel known: nothing to vouch
    assert pointers(unknown) == {"/options/channel"}
    assert api.get(f"/items/{cell}/tests").json() == []

    justification = "Neware visit booked for next week; cross-checked NW1-3 against a reference cell"
    accepted = _upload(
        api,
        cell,
        CALIBRATED_CYCLING,
        channel="NW1-3",
        deviations=[{"field": "/options/channel", "justification": justification}],
    )
    assert accepted.status_code == 201, accepted.text
    run = accepted.json()
    assert run["deviations"] == [
        {
            "field": "/options/channel",
            "justification": justification,
            "expected": "in_calibration",
            "got": "overdue",
        }
    ]
    assert [w["check"] for w in run["warnings"]] == ["calibration"]
    assert api.get(f"/tests/{run['id']}").json()["deviations"] == run["deviations"]
    # The old protocol demands nothing: the same run is a warning there, and a deviation there is refused.
    assert _upload(api, cell, "lfp-li-cycling@1", channel="NW1-3").status_code == 201
    needless = _upload(
        api,
        cell,
        "lfp-li-cycling@1",
        channel="NW1-3",
        deviations=[{"field": "/options/channel", "justification": justification}],
    )
    assert pointers(problem_of(needless, 422)) == {"/options/deviations/0/field"}
    # In calibration, the demanding protocol takes the run without a word.
    api.post("/instruments/NW1/calibrations", json=_calibration(1, 365))
    assert _upload(api, cell, CALIBRATED_CYCLING, channel="NW1-4").status_code == 201


def test_the_impact_of_an_instrument_lists_what_used_it_while_not_in_calibration(api, admin, lab):
    _assembly_template(admin, demands=False)
    api.post("/instruments/NW1/calibrations", json=_calibration(400, 365))  # NW1 overdue since 35 days
    cell, other = _cell(api, lab), _cell(api, lab)
    overdue_run = _upload(api, cell, "lfp-li-cycling@1", channel="NW1-3").json()
    other_run = _upload(api, other, "lfp-li-cycling@1", channel="NW1-5").json()
    # A run from 60 days ago, when NW1 was still due (its calibration ran out 35 days ago).
    sixty_days_ago = (datetime.now(UTC) - timedelta(days=60)).isoformat()
    due_run = _upload(api, cell, "lfp-li-cycling@1", channel="NW1-3", started_at=sixty_days_ago).json()
    ok_step = _assemble(
        api, lab["lot"], f"{GLOVE_ASSEMBLY}@1", [{"role": "glovebox", "instrument": "GB-1"}]
    ).json()
    bad_step = _assemble(
        api, lab["lot"], f"{GLOVE_ASSEMBLY}@1", [{"role": "glovebox", "instrument": "GB-2"}]
    ).json()

    cycler = api.get("/instruments/NW1/impact").json()
    assert [(u["kind"], u["id"], u["calibration_state"]) for u in cycler["uses"]] == [
        ("test_run", due_run["id"], "due"),
        ("test_run", overdue_run["id"], "overdue"),
        ("test_run", other_run["id"], "overdue"),
    ]
    assert [u["channel"] for u in cycler["uses"]] == ["NW1-3", "NW1-3", "NW1-5"]
    assert cycler["uses"][1]["cell"] == cell and cycler["uses"][1]["protocol"] == "lfp-li-cycling@1"
    only_overdue = api.get("/instruments/NW1/impact", params={"due": "false"}).json()
    assert [u["id"] for u in only_overdue["uses"]] == [overdue_run["id"], other_run["id"]]
    recent = api.get(
        "/instruments/NW1/impact", params={"from": (date.today() - timedelta(days=7)).isoformat()}
    ).json()
    assert [u["id"] for u in recent["uses"]] == [overdue_run["id"], other_run["id"]]
    long_ago = api.get(
        "/instruments/NW1/impact", params={"to": (date.today() - timedelta(days=30)).isoformat()}
    )
    assert [u["id"] for u in long_ago.json()["uses"]] == [due_run["id"]]
    channel = api.get("/instruments/NW1-5/impact").json()
    assert [u["id"] for u in channel["uses"]] == [other_run["id"]]

    glovebox = api.get("/instruments/GB-2/impact").json()
    assert [(u["kind"], u["id"], u["role"], u["calibration_state"]) for u in glovebox["uses"]] == [
        ("step", bad_step["id"], "glovebox", "overdue")
    ]
    assert api.get("/instruments/GB-1/impact").json()["uses"] == []
    assert ok_step["id"] not in [u["id"] for u in glovebox["uses"]]

    assert problem_of(api.get("/instruments/NW9/impact"), 404)
    backwards = api.get("/instruments/NW1/impact", params={"from": "2026-05-02", "to": "2026-05-01"})
    assert "query:to" in pointers(problem_of(backwards, 422))
    assert "query:from" in pointers(
        problem_of(api.get("/instruments/NW1/impact", params={"from": "May"}), 422)
    )


def test_the_library_brings_the_glovebox_assembly_to_a_database_that_has_only_its_first_version(app, admin):
    """A database from before cr2025-assembly@2 gets it at the next start; a lab's own @2 is not overtaken."""

    def start() -> int:  # what every start of the service does (service.bootstrap.prepare)
        with open_session(app.state.engine, write=True) as session:
            added = load_library(session)
            audit.append_pending(session)
            session.commit()
            return added

    def drop_second() -> None:
        with app.state.engine.begin() as connection:
            connection.execute(text("DELETE FROM templates WHERE name = 'cr2025-assembly' AND version = 2"))

    drop_second()
    assert admin.get("/templates/cr2025-assembly").json()["ref"] == "cr2025-assembly@1"
    assert start() == 1
    second = admin.get("/templates/cr2025-assembly").json()
    assert (second["ref"], second["created_by"]) == ("cr2025-assembly@2", "cellprov")
    assert start() == 0

    drop_second()
    first = admin.get("/templates/cr2025-assembly/versions/1").json()
    body = {field: first[field] for field in (*TEMPLATE_FIELDS, "checks")} | {"title": "Our own coin cells"}
    assert admin.post("/templates", json=body).status_code == 201
    assert start() == 0
    assert admin.get("/templates/cr2025-assembly").json()["title"] == "Our own coin cells"
