"""Voiding a test run or an analysis: readable, marked voided, audited, gone from comparisons and lineage."""

import json

from fastapi.testclient import TestClient
from rich.console import Console
from typer.testing import CliRunner

from clients import cli
from clients.cli import connect, output
from clients.client import Client
from clients.cycler_model import lfp_cycling
from schemas import Role
from tests.test_cycling_api import bench, make_cells, upload

__all__ = ["bench"]  # the autouse fixture publishing the protocols make_cells logs against


def _lot_of(api, cell: str) -> str:
    return api.get(f"/items/{cell}/lineage", params={"direction": "up"}).json()["nodes"][-1]["code"]


def test_a_voided_test_run_stays_readable_and_leaves_comparisons_and_lineage(api, as_role):
    cells = make_cells(api, {"bare Li": 2})["bare Li"]
    kept = upload(api, cells[0], lfp_cycling(cycles=20)).json()
    wrong = upload(api, cells[1], lfp_cycling(cycles=20, fade_per_cycle_pct=2.0)).json()

    voided = api.post(f"/tests/{wrong['id']}/void", json={"reason": "wrong cell on channel 3"})
    assert voided.status_code == 200, voided.text
    assert (voided.json()["status"], voided.json()["void_reason"]) == ("voided", "wrong cell on channel 3")

    again = api.get(f"/tests/{wrong['id']}").json()
    assert again["status"] == "voided" and again["metrics"] == wrong["metrics"]
    assert [r["status"] for r in api.get(f"/items/{cells[1]}/tests").json()] == ["voided"]
    assert api.get(f"/tests/{wrong['id']}/cycles").status_code == 200

    comparison = api.get("/tests/compare", params={"by": "role:anode"}).json()
    assert [row["test"] for group in comparison["groups"] for row in group["tests"]] == [kept["id"]]
    down = api.get(f"/items/{_lot_of(api, cells[0])}/lineage", params={"direction": "down"}).json()
    assert [t["id"] for t in down["tests"]] == [kept["id"]]

    events = as_role[Role.auditor].get("/audit", params={"action": "test_run.voided"}).json()["items"]
    assert [(e["entity_id"], e["reason"]) for e in events] == [(str(wrong["id"]), "wrong cell on channel 3")]


def test_voiding_twice_or_without_a_reason_is_refused_and_changes_nothing(api, as_role):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    run = upload(api, cell, lfp_cycling(cycles=5)).json()
    for body in ({}, {"reason": ""}):
        refused = api.post(f"/tests/{run['id']}/void", json=body)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    assert api.get(f"/tests/{run['id']}").json()["status"] == "recorded"
    assert api.post(f"/tests/{run['id']}/void", json={"reason": "dead cell"}).status_code == 200
    twice = api.post(f"/tests/{run['id']}/void", json={"reason": "again"})
    assert twice.status_code == 409 and "dead cell" in twice.text
    assert api.post("/tests/999999/void", json={"reason": "no such run"}).status_code == 404
    reviewer = as_role[Role.reviewer].post(f"/tests/{run['id']}/void", json={"reason": "looks odd"})
    assert reviewer.status_code == 403
    events = as_role[Role.auditor].get("/audit", params={"action": "test_run.voided"}).json()["items"]
    assert len(events) == 1


def test_a_voided_analysis_stays_readable_and_leaves_lineage(api, as_role):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    body = {"technique": "XPS", "subjects": [cell], "results": [{"name": "LiF", "value": 41.7, "unit": "%"}]}
    kept = api.post("/analyses", json=body).json()
    wrong = api.post("/analyses", json={**body, "title": "wrong sample"}).json()

    voided = api.post(f"/analyses/{wrong['id']}/void", json={"reason": "sample swapped"})
    assert voided.status_code == 200, voided.text
    assert (voided.json()["status"], voided.json()["void_reason"]) == ("voided", "sample swapped")
    assert api.get(f"/analyses/{wrong['id']}").json()["status"] == "voided"
    assert {a["id"]: a["status"] for a in api.get(f"/items/{cell}/analyses").json()} == {
        kept["id"]: "recorded",
        wrong["id"]: "voided",
    }
    down = api.get(f"/items/{_lot_of(api, cell)}/lineage", params={"direction": "down"}).json()
    assert [a["id"] for a in down["analyses"]] == [kept["id"]]
    assert api.post(f"/analyses/{wrong['id']}/void", json={"reason": "again"}).status_code == 409
    events = as_role[Role.auditor].get("/audit", params={"action": "analysis.voided"}).json()["items"]
    assert [(e["entity_id"], e["reason"]) for e in events] == [(str(wrong["id"]), "sample swapped")]


def test_cli_voids_a_test_run(api, app, monkeypatch):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    run = upload(api, cell, lfp_cycling(cycles=5)).json()
    # The command talks to the in-process app with the scientist's token instead of to a real server.
    http = TestClient(app, base_url="http://testserver", headers=dict(api.headers))
    monkeypatch.setattr(connect, "Client", lambda url, token: Client(http=http))
    runner = CliRunner()
    server = ["--url", "http://testserver", "--token", "t"]
    result = runner.invoke(cli.app, [*server, "--json", "test", "void", str(run["id"]), "-r", "noisy"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "voided"
    refused = runner.invoke(cli.app, [*server, "test", "void", str(run["id"]), "--reason", "noisy again"])
    assert refused.exit_code == 1 and "already voided" in refused.output


def test_cli_check_lists_the_warnings_and_conventions(api, app, monkeypatch):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    run = upload(api, cell, lfp_cycling(cycles=5, coulombic_efficiency_pct=104)).json()
    http = TestClient(app, base_url="http://testserver", headers=dict(api.headers))
    monkeypatch.setattr(connect, "Client", lambda url, token: Client(http=http))
    monkeypatch.setattr(output, "console", Console(width=250, color_system=None))
    result = CliRunner().invoke(
        cli.app, ["--url", "http://testserver", "--token", "t", "test", "check", str(run["id"])]
    )
    assert result.exit_code == 2, result.output
    assert "error ce_above_100" in result.stdout
    assert "first complete cycle after 0 formation cycle(s)" in result.stdout
