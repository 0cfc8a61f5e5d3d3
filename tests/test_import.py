"""Bulk import (POST /import): the same rules as single requests, all or nothing, audited."""

import json

from clients.cycler_model import lfp_cycling
from tests.lab import ASSEMBLY, pointers, problem_of, publish_bench, remaining, step_body, used

SYNTHESIS = "nh2-mil-101-fe-hydrothermal@1"  # the built-in template itself, not a permissive test one

LOTS = [
    ("FECL-A", "FeCl3·6H2O", "25 g"),
    ("ATA-A", "2-aminoterephthalic acid", "10 g"),
    ("DMF-A", "DMF", "1 L"),
    ("ETOH-A", "ethanol", "1 L"),
]
PARAMETERS = {
    "temperature": "110 degC",
    "duration": "24 h",
    "drying_temperature": "60 degC",
    "drying_time": "12 h",
    "centrifuge_speed": "10000 rpm",
}


def receive_ops() -> list[dict]:
    return [
        {"op": "receive_lot", "lot": {"type": type_name, "quantity": quantity, "code": code}}
        for code, type_name, quantity in LOTS
    ]


def synthesis_op(code: str, iron: str = "2.75 g", iron_lot: str = "FECL-A") -> dict:
    inputs = [
        used("iron_source", iron_lot, iron),
        used("linker", "ATA-A", "1.105 g"),
        used("solvent", "DMF-A", "80 mL"),
        used("wash_solvent", "ETOH-A", "40 mL"),
    ]
    output = {"type": "NH2-MIL-101(Fe)", "code": code, "quantity": "0.9 g"}
    return {"op": "log_step", "step": step_body(SYNTHESIS, inputs, output, parameters=PARAMETERS)}


def test_an_import_receives_lots_and_logs_steps_that_use_them(admin):
    operations = [*receive_ops(), synthesis_op("MOF-A"), synthesis_op("MOF-B")]
    response = admin.post("/import", json=operations)
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["operations"] == 6 and result["lots"] == 4 and result["steps"] == 2
    assert result["items_made"] == 6
    # 4 received + 2 steps x (4 consumed + 1 made + 1 logged) + the import's own summary.
    assert result["events"] == 4 + 2 * 6 + 1

    assert remaining(admin, "FECL-A") == (25 - 2 * 2.75, "g")
    lineage = admin.get("/items/MOF-B/lineage", params={"direction": "up"}).json()
    assert {n["code"] for n in lineage["nodes"]} == {"MOF-B", "FECL-A", "ATA-A", "DMF-A", "ETOH-A"}
    down = admin.get("/items/FECL-A/lineage", params={"direction": "down", "type": "NH2-MIL-101(Fe)"})
    assert {n["code"] for n in down.json()["nodes"]} == {"MOF-A", "MOF-B"}
    assert admin.get("/steps", params={"item": "MOF-A"}).json()["items"][0]["protocol"] == SYNTHESIS

    actions = [e["action"] for e in admin.get("/audit", params={"limit": 1000}).json()["items"]]
    assert actions[-1] == "import.applied"
    assert admin.get("/audit/verify").json()["ok"] is True


def test_ndjson_is_accepted_too(admin):
    lines = "\n".join(json.dumps(op) for op in [*receive_ops(), synthesis_op("MOF-A")]) + "\n"
    response = admin.post("/import", content=lines, headers={"Content-Type": "application/x-ndjson"})
    assert response.status_code == 201, response.text
    assert response.json()["items_made"] == 5


def test_a_refused_operation_rolls_back_the_whole_import_and_is_named(admin):
    operations = [*receive_ops(), synthesis_op("MOF-A"), synthesis_op("MOF-B", iron_lot="FECL-NOPE")]
    body = problem_of(admin.post("/import", json=operations), 422)
    assert "operation 5 (log_step)" in body["detail"]
    assert pointers(body) == {"/5/step/inputs/0/item"}

    # Nothing of the batch stayed: not the lots, not the first step, not a single audit event.
    assert admin.get("/items/FECL-A").status_code == 404
    assert admin.get("/items/MOF-A").status_code == 404
    check = admin.get("/audit/verify").json()
    assert check["ok"] is True
    assert not [e for e in admin.get("/audit").json()["items"] if e["action"].startswith(("item.", "step."))]


def test_an_inventory_conflict_keeps_its_status_and_names_the_operation(admin):
    # A 5 g lot is enough for one synthesis (2.75 g), not for two.
    small = {"op": "receive_lot", "lot": {"type": "FeCl3·6H2O", "quantity": "5 g", "code": "FECL-S"}}
    operations = [*receive_ops(), small, synthesis_op("MOF-A", iron_lot="FECL-S")]
    operations.append(synthesis_op("MOF-B", iron_lot="FECL-S"))
    body = problem_of(admin.post("/import", json=operations), 409)
    assert "operation 6" in body["detail"]
    assert "/6/step/inputs/0/amount" in pointers(body)
    assert admin.get("/items/FECL-A").status_code == 404


def test_a_template_violation_is_refused_like_a_single_step(admin):
    wrong = synthesis_op("MOF-A")
    wrong["step"]["parameters"] = {**PARAMETERS, "temperature": "150 degC"}
    body = problem_of(admin.post("/import", json=[*receive_ops(), wrong]), 422)
    assert "/4/step/parameters/temperature" in pointers(body)


def test_malformed_operations_are_all_listed_by_index(admin):
    operations = [
        receive_ops()[0],
        {"op": "drop_table", "lot": {}},
        {"op": "receive_lot", "lot": {"type": "DMF"}},
    ]
    body = problem_of(admin.post("/import", json=operations), 422)
    assert {p.split("/")[1] for p in pointers(body)} == {"1", "2"}
    assert "/2/lot/quantity" in pointers(body)
    assert problem_of(admin.post("/import", json={"op": "receive_lot"}), 422)["errors"][0]["pointer"] == "/"
    assert problem_of(admin.post("/import", content=b"[{", headers={"Content-Type": "application/json"}), 422)
    assert admin.get("/items/FECL-A").status_code == 404


def test_an_import_is_applied_once_per_idempotency_key(admin):
    headers = {"Idempotency-Key": "import-1"}
    first = admin.post("/import", json=receive_ops(), headers=headers)
    again = admin.post("/import", json=receive_ops(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(admin.get("/items", params={"kind": "lot"}).json()["items"]) == 4


def _cells_and_tests(sha256: str) -> list[dict]:
    """A Li-disc lot, two cells made from it, a test run of each from one stored file, an XPS of the first."""
    cells = [
        {
            "op": "log_step",
            "step": step_body(
                ASSEMBLY, [used("anode", "LI-A", "1 count")], {"type": "CR2025 coin cell", "code": code}
            ),
        }
        for code in ("CC-A", "CC-B")
    ]
    tests = [
        {"op": "record_test", "test": {"cell": code, "protocol": "lfp-li-cycling@1", "file": sha256}}
        for code in ("CC-A", "CC-B")
    ]
    xps = {
        "technique": "XPS",
        "subjects": ["CC-A"],
        "title": "post-mortem F 1s",
        "results": [{"name": "LiF fraction", "value": 41.7, "unit": "%"}],
    }
    lot = {"op": "receive_lot", "lot": {"type": "Li foil disc", "quantity": "10 count", "code": "LI-A"}}
    return [lot, *cells, *tests, {"op": "record_analysis", "analysis": xps}]


def test_an_import_records_test_runs_and_analyses_of_the_cells_it_made(admin):
    publish_bench(admin, ASSEMBLY)
    sha256 = admin.post("/files", files={"file": ("lfp.csv", lfp_cycling(cycles=6))}).json()["sha256"]
    response = admin.post("/import", json=_cells_and_tests(sha256))
    assert response.status_code == 201, response.text
    result = response.json()
    assert (result["lots"], result["steps"], result["test_runs"], result["analyses"]) == (1, 2, 2, 1)

    # One file read once, yet each cell has its own run with its own cycles and metrics.
    runs = {code: admin.get(f"/items/{code}/tests").json() for code in ("CC-A", "CC-B")}
    assert [len(r) for r in runs.values()] == [1, 1]
    assert {r[0]["file"]["sha256"] for r in runs.values()} == {sha256}
    for code, (run,) in runs.items():
        cycles = admin.get(f"/tests/{run['id']}/cycles").json()
        assert len(cycles) == run["cycle_count"] >= 5, code
    assert [a["title"] for a in admin.get("/items/CC-A/analyses").json()] == ["post-mortem F 1s"]

    down = admin.get("/items/LI-A/lineage", params={"direction": "down"}).json()
    assert {t["item"] for t in down["tests"]} == {"CC-A", "CC-B"}
    assert [a["item"] for a in down["analyses"]] == ["CC-A"]
    actions = [e["action"] for e in admin.get("/audit", params={"limit": 1000}).json()["items"]]
    assert actions.count("test_run.recorded") == 2 and actions.count("analysis.recorded") == 1
    assert admin.get("/audit/verify").json()["ok"] is True


def test_a_test_run_of_a_file_never_stored_refuses_the_whole_import(admin):
    publish_bench(admin, ASSEMBLY)
    body = problem_of(admin.post("/import", json=_cells_and_tests("ab" * 32)), 422)
    assert pointers(body) == {"/3/test/file"}
    problem_of(admin.get("/items/CC-A"), 404)
    problem_of(admin.get("/items/LI-A"), 404)
