"""The worked example, loaded through the Python client: the recall and trace questions it must answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from clients.client import Client
from clients.example import WorkedExample, load_worked_example
from schemas import ItemStatus, Quantity, Role
from tests.conftest import Person


@pytest.fixture
def client(app: FastAPI, people: dict[Role, Person]) -> Iterator[Client]:
    """The Python client talking to the app in-process, as the scientist who records the lab's work."""
    http = TestClient(app, raise_server_exceptions=False)
    with Client(token=people[Role.scientist].token, http=http) as client:
        yield client


@pytest.fixture
def example(client: Client) -> WorkedExample:
    return load_worked_example(client)


def upstream_codes(client: Client, code: str) -> set[str]:
    return {node.code for node in client.lineage(code, "up").nodes}


def test_every_coated_anode_cell_traces_back_to_the_fecl3_lot(client: Client, example: WorkedExample) -> None:
    for kind in ("MOF@CoPc/Li", "MOF/Li"):
        for cell in example.cells[kind]:
            assert example.fecl3_lot in upstream_codes(client, cell), (kind, cell)


def test_bare_li_cells_do_not_come_from_the_fecl3_lot(client: Client, example: WorkedExample) -> None:
    for cell in example.cells["bare Li"]:
        upstream = upstream_codes(client, cell)
        assert example.fecl3_lot not in upstream
        assert example.lots["Li foil disc"] in upstream and example.cathode in upstream


def test_recall_of_the_fecl3_lot_finds_exactly_the_coated_anode_cells(
    client: Client, example: WorkedExample
) -> None:
    recall = client.lineage(example.fecl3_lot, "down", kind="cell")
    cells = {node.code for node in recall.nodes if node.kind == "cell"}
    assert cells == set(example.cells["MOF@CoPc/Li"]) | set(example.cells["MOF/Li"])


def test_only_the_mof_copc_cells_contain_copc(client: Client, example: WorkedExample) -> None:
    recall = client.lineage(example.lots["CoPc"], "down", kind="cell")
    assert {node.code for node in recall.nodes if node.kind == "cell"} == set(example.cells["MOF@CoPc/Li"])


def test_origin_of_a_cell_names_its_batches_and_lots(client: Client, example: WorkedExample) -> None:
    cell = example.cells["MOF@CoPc/Li"][0]
    origins = {group.type: [node.code for node in group.items] for group in client.origin(cell).origins}
    assert origins["FeCl3·6H2O"] == [example.fecl3_lot]
    assert origins["MOF@CoPc"] == [example.mof_copc]
    assert origins["NH2-MIL-101(Fe)"] == [example.mof]
    assert origins["LFP cathode sheet"] == [example.cathode]


def test_the_example_makes_the_same_codes_on_an_empty_database(example: WorkedExample) -> None:
    assert example.fecl3_lot == "FECL-0001"
    assert example.mof == "MOF-0001" and example.mof_copc == "MCP-0001"
    assert example.cells == {
        "MOF@CoPc/Li": ["CC-0001", "CC-0002"],
        "MOF/Li": ["CC-0003", "CC-0004"],
        "bare Li": ["CC-0005", "CC-0006"],
    }


def test_the_example_uses_up_inventory_as_recorded(client: Client, example: WorkedExample) -> None:
    fecl3 = client.item(example.fecl3_lot)
    assert fecl3.remaining is not None and fecl3.remaining.unit == "g"
    assert fecl3.remaining.value == pytest.approx(25 - 2.75 - 2.75)  # the 120 °C batch took 2750 mg
    discs = client.item(example.lots["Li foil disc"])
    assert discs.remaining is not None and discs.remaining.value == pytest.approx(50 - 4 - 4 - 2)
    used_anode = client.item(example.anodes["MOF@CoPc/Li"][0])
    spare_anode = client.item(example.anodes["MOF@CoPc/Li"][-1])
    assert used_anode.status == ItemStatus.consumed and spare_anode.status == ItemStatus.released
    mof_copc = client.item(example.mof_copc)
    assert mof_copc.properties["copc_mass_fraction"] == {"value": 7.7, "unit": "percent"}


def test_steps_keep_their_parameters_as_quantities(client: Client, example: WorkedExample) -> None:
    synthesis = client.step(example.steps[0])
    assert synthesis.protocol == "nh2-mil-101-fe-hydrothermal@1"
    assert synthesis.parameters["temperature"] == Quantity(value=110, unit="degC")
    roles = sorted((given.role, given.item.code) for given in synthesis.inputs)
    assert ("iron_source", example.fecl3_lot) in roles
    assert [role for role, _ in roles].count("wash_solvent") == 2
    assembly = client.steps(protocol="cr2025-assembly@2", limit=100)
    assert len(assembly.items) == 6


def test_the_worked_examples_audit_trail_exports_and_verifies_offline(
    app: FastAPI, people: dict[Role, Person], example: WorkedExample, tmp_path
) -> None:
    from clients.audit_file import verify_export

    http = TestClient(app, raise_server_exceptions=False)
    with Client(token=people[Role.auditor].token, http=http) as auditor:
        assert auditor.verify_audit().ok
        path = tmp_path / "worked-example-audit.jsonl"
        with path.open("wb") as handle:
            auditor.export_audit("jsonl", handle)
        steps = auditor.audit_events(action="step.logged", limit=1000).items
    check, manifest = verify_export(path)
    assert check.ok and manifest is not None and manifest.count == check.size
    assert len(steps) == len(example.steps)  # one event per logged step


def test_the_example_follows_its_templates_with_one_deliberate_deviation(
    client: Client, example: WorkedExample
) -> None:
    deviating = client.steps(deviating=True, limit=100).items
    assert [step.id for step in deviating] == [example.deviating_step]
    (step,) = deviating
    assert step.protocol == "nh2-mil-101-fe-hydrothermal@1"
    (deviation,) = step.deviations
    assert deviation.field == "/parameters/temperature"
    assert deviation.expected == "110 ± 5 degC" and deviation.got == "120 degC"
    assert "crystalline" in deviation.justification
    # 2750 mg was entered; the template's unit is g.
    assert step.normalized["/inputs/0/amount"] == Quantity(value=2.75, unit="g")
    assert step.inputs[0].amount == Quantity(value=2750, unit="mg")
    conforming = client.steps(deviating=False, limit=100).items
    assert len(conforming) == len(example.steps) - 1
    assert all(not s.deviations for s in conforming)


def test_the_fe_linker_ratio_is_computed_for_the_synthesis(client: Client, example: WorkedExample) -> None:
    synthesis = client.step(example.steps[0])
    assert synthesis.computed["fe_linker_ratio"].value == pytest.approx(1.668, abs=1e-3)


def test_the_deviating_step_is_marked_in_lineage(client: Client, example: WorkedExample) -> None:
    lineage = client.lineage(example.exploratory_mof, "up")
    assert lineage.edges and all(edge.deviating for edge in lineage.edges)
    assert "deviating" in client.lineage_text(example.exploratory_mof, "up", "mermaid")
    cell = client.lineage(example.cells["MOF@CoPc/Li"][0], "up")
    assert not any(edge.deviating for edge in cell.edges)


def test_every_cell_carries_a_test_run_and_coated_anodes_fade_less(
    client: Client, example: WorkedExample
) -> None:
    assert set(example.tests) == set(example.all_cells)
    comparison = client.compare("role:anode", "lfp-li-cycling@1")
    mean = {group.group: group.mean for group in comparison.groups}
    coated, mof, bare = mean["MOF@CoPc/Li anode"], mean["MOF/Li anode"], mean["Li foil disc"]
    assert coated["fade_per_cycle"] < mof["fade_per_cycle"] < bare["fade_per_cycle"]
    run = client.test_run(example.tests[example.cells["MOF@CoPc/Li"][0]])
    assert run.cycle_count == 352 and run.active_mass_g == pytest.approx(0.01249)


def test_the_first_comparison_shows_the_studys_finding(client: Client, example: WorkedExample) -> None:
    """MOF@CoPc/Li keeps > 90 % over 350 cycles at 1C, MOF/Li less, bare Li fades faster and fails early."""
    mean = {g.group: g.mean for g in client.compare("role:anode", "lfp-li-cycling@1").groups}
    coated, mof, bare = mean["MOF@CoPc/Li anode"], mean["MOF/Li anode"], mean["Li foil disc"]
    assert coated["capacity_retention"] is not None and coated["capacity_retention"] >= 90
    assert mof["capacity_retention"] is not None and 70 < mof["capacity_retention"] < 90
    assert bare["capacity_retention"] is not None and bare["capacity_retention"] < mof["capacity_retention"]
    assert coated["cycles_to_80pct"] is None and bare["cycles_to_80pct"] is not None
    assert bare["cycles_to_80pct"] < 200
    # 1C after two 0.1C formation cycles: the reference is cycle 3, at the study's ~149 mAh/g.
    assert coated["initial_specific_capacity"] == pytest.approx(149.5, abs=1.5)
    assert coated["average_ce"] is not None and coated["average_ce"] > bare["average_ce"]
    cells = client.cycles(example.tests[example.cells["MOF@CoPc/Li"][0]])
    first, second = cells[0], cells[1]
    assert first.flag and "formation" in first.flag
    assert first.ce_pct is not None and first.ce_pct < 90  # the first cycle's loss to the SEI
    assert second.ce_pct is not None and second.ce_pct > 98
    bare_run = client.test_run(example.tests[example.cells["bare Li"][0]])
    bare_cycles = client.cycles(bare_run.id)
    assert bare_run.cycle_count < 200  # it died mid-discharge: its last cycle is cut short
    assert bare_cycles[-1].flag is not None and bare_cycles[-1].flag.startswith("truncated")


def test_the_anodes_carry_analyses_and_they_show_in_lineage(client: Client, example: WorkedExample) -> None:
    coated = example.anodes["MOF@CoPc/Li"][-1]
    analyses = client.analyses_of(coated)
    assert {a.technique for a in analyses} == {"XPS", "EIS"}
    ea = next(a for a in analyses if a.calculator == "arrhenius")
    assert ea.results[0].value == pytest.approx(44.29, abs=0.01)
    down = client.lineage(example.mof_copc, "down")
    assert {a.item for a in down.analyses} >= {coated}
    assert {t.item for t in down.tests} == set(example.cells["MOF@CoPc/Li"])


def test_the_cells_were_assembled_in_the_glovebox_and_cycled_on_the_cyclers_channels(
    client: Client, example: WorkedExample
) -> None:
    assembly = client.steps(protocol="cr2025-assembly@2", limit=100).items
    assert {(i.role, i.instrument, i.calibration_state) for s in assembly for i in s.instruments} == {
        ("glovebox", "GB-1", "in_calibration")
    }
    assert set(example.channels) == set(example.all_cells)
    busy = client.channels(status="busy")
    assert {c.cell: c.code for c in busy} == example.channels
    for cell, channel in example.channels.items():
        run = client.test_run(example.tests[cell])
        assert (run.instrument, run.channel, run.calibration_state) == ("NW1", channel, "in_calibration")
        assert "calibration" not in [w.check for w in run.warnings]
    assert [c.calibrated_on.year for c in client.calibrations("GB-1")] == [2025, 2026]
    assert client.impact("GB-1").uses == [] and client.impact("NW1").uses == []
    cell = example.cells["MOF@CoPc/Li"][0]
    lineage = client.lineage(cell, "up")
    assert ("glovebox", "GB-1") in {(i.role, i.instrument) for i in lineage.instruments}


def test_a_second_copy_of_the_example_finds_the_instruments_and_the_channels_taken(
    client: Client, example: WorkedExample
) -> None:
    again = load_worked_example(client)
    assert set(again.all_cells).isdisjoint(example.all_cells) and again.channels == {}
    assert len(client.instruments()) == 2
    assert {c.cell for c in client.channels(status="busy")} == set(example.all_cells)
