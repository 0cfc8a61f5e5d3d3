"""The benchmark generator: deterministic, lab-shaped, and every operation passes the service's own rules."""

from bench.generate import (
    CELLS_PER_SHEET,
    LOTS_PER_KIND,
    REAGENTS,
    TEST_CYCLES,
    batches,
    cell_code,
    cycler_file,
    generate,
    lot_code,
)


def test_the_same_seed_gives_the_same_history_and_another_seed_another():
    assert generate(100, seed=7) == generate(100, seed=7)
    assert generate(100, seed=7)[1] != generate(100, seed=8)[1]


def test_the_shape_follows_the_cell_count():
    shape, operations = generate(1000)
    per_type = shape.items
    assert shape.lots == len(REAGENTS) * LOTS_PER_KIND
    assert per_type["CR2025 coin cell"] == per_type["MOF@CoPc/Li anode"] == 1000
    assert per_type["NH2-MIL-101(Fe)"] == 100 and per_type["MOF@CoPc"] == 200
    assert per_type["LFP cathode sheet"] == 1000 // CELLS_PER_SHEET
    assert (shape.test_runs, shape.analyses) == (1000, 2000)
    assert len(operations) == shape.lots + shape.steps + shape.test_runs + shape.analyses
    # Lots come first, and nothing is used (or tested, or analysed) before it exists.
    seen: set[str] = set()
    for operation in operations:
        if operation["op"] == "receive_lot":
            seen.add(operation["lot"]["code"])
        elif operation["op"] == "record_test":
            assert operation["test"]["cell"] in seen
        elif operation["op"] == "record_analysis":
            assert set(operation["analysis"]["subjects"]) <= seen
        else:
            assert {given["item"] for given in operation["step"]["inputs"]} <= seen
            seen |= {output["code"] for output in operation["step"]["outputs"]}
    assert sum(len(b) for b in batches(operations, 300)) == len(operations)


def test_the_history_imports_through_the_service_and_has_the_lab_shape(admin):
    _, operations = generate(50)
    admin.post("/files", files={"file": ("bench-cycling.csv", cycler_file())}).raise_for_status()
    for batch in batches(operations, 200):
        response = admin.post("/import", json=batch)
        assert response.status_code == 201, response.text[:2000]
    cells = admin.get("/items", params={"kind": "cell", "limit": 500}).json()["items"]
    assert len(cells) == 50

    up = admin.get(f"/items/{cell_code(17)}/lineage", params={"direction": "up"}).json()
    ancestors = {n["type"] for n in up["nodes"] if n["depth"] > 0}
    assert {"FeCl3·6H2O", "NH2-MIL-101(Fe)", "MOF@CoPc", "LFP cathode sheet", "PP separator"} <= ancestors
    # anode, solution, composite, MOF, 4 + 2 + 1 + 1 reagent lots behind them; sheet and its 5 lots;
    # separator, electrolyte, case: 21, of which the shape counts 13 (see bench/README.md).
    assert len(up["nodes"]) - 1 in range(19, 22)  # a lot drawn twice (DMF) is one ancestor

    lots = [lot_code("FeCl3·6H2O", n) for n in range(1, LOTS_PER_KIND + 1)]
    recalled = 0
    for lot in lots:
        down = admin.get(f"/items/{lot}/lineage", params={"direction": "down", "kind": "cell"}).json()
        assert all(n["kind"] == "cell" for n in down["nodes"]) and down["edges"] == []
        recalled += len(down["nodes"])
    assert recalled == 50  # every cell comes from exactly one FeCl3 lot

    # Each cell has its test run (with its cycles) and two analyses, shown on its upstream lineage too.
    assert [t["item"] for t in up["tests"]] == [cell_code(17)]
    assert sorted(a["technique"] for a in up["analyses"]) == ["EIS", "SEM"]
    run = admin.get(f"/items/{cell_code(17)}/tests").json()[0]
    assert len(admin.get(f"/tests/{run['id']}/cycles").json()) == TEST_CYCLES
    assert admin.get("/audit/verify").json()["ok"] is True
