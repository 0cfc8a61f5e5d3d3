"""Cohorts by lineage: the worked example plus a second MOF@CoPc batch impregnated hotter, compared by what
the cells descend from; the answer names the impregnation temperature and its deviation as what differs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from clients import example as example_module
from clients.client import Client
from clients.cycler_model import lfp_cycling
from clients.example import WorkedExample, load_worked_example
from schemas import Role
from tests.conftest import Person


@pytest.fixture
def api(app: FastAPI, people: dict[Role, Person]) -> Iterator[TestClient]:
    http = TestClient(app, raise_server_exceptions=False)
    http.headers["Authorization"] = f"Bearer {people[Role.scientist].token}"
    yield http


@pytest.fixture
def example(api: TestClient) -> WorkedExample:
    with Client(token=api.headers["Authorization"].removeprefix("Bearer "), http=api) as client:
        return load_worked_example(client)


def _step(api: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/api/v1/steps", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def hot_batch_cells(api: TestClient, made: WorkedExample) -> tuple[str, list[str]]:
    """A second MOF@CoPc batch impregnated at 85 °C (outside 75 ± 5 °C, justified), made into two cells."""
    lots = made.lots
    batch = _step(
        api,
        {
            "protocol": "mof-copc-impregnation@1",
            "parameters": {
                "temperature": "85 degC",
                "duration": "40 h",
                "drying_temperature": "120 degC",
                "drying_time": "12 h",
            },
            "inputs": [
                {"role": "mof", "item": made.mof, "amount": "60 mg"},
                {"role": "copc", "item": lots["CoPc"], "amount": "5 mg"},
                {"role": "solvent", "item": lots["DMF"], "amount": "40 mL"},
            ],
            "outputs": [{"type": "MOF@CoPc", "quantity": "61 mg", "name": "MOF@CoPc at 85 °C"}],
            "deviations": [
                {"field": "/parameters/temperature", "justification": "does hotter load more CoPc?"}
            ],
        },
    )["outputs"][0]["code"]
    solution = _step(
        api,
        {
            "protocol": "coating-solution@1",
            "parameters": {"duration": "4 h"},
            "inputs": [
                {"role": "material", "item": batch, "amount": "60 mg"},
                {"role": "solvent", "item": lots["THF"], "amount": "1.64 mL"},
            ],
            "outputs": [{"type": "coating solution", "quantity": "1.64 mL"}],
        },
    )["outputs"][0]["code"]
    anodes = [
        output["code"]
        for output in _step(
            api,
            {
                "protocol": "li-drop-coating@1",
                "parameters": {"drop_volume": "50 µL", "drying_time": "2 h", "atmosphere": "Ar glovebox"},
                "inputs": [
                    {"role": "coating_solution", "item": solution, "amount": "100 µL"},
                    {"role": "substrate", "item": lots["Li foil disc"], "amount": "2 count"},
                ],
                "outputs": [{"type": "MOF@CoPc/Li anode", "count": 2, "quantity": "1 count"}],
            },
        )["outputs"]
    ]
    cells = []
    for anode in anodes:
        cell = _step(
            api,
            {
                "protocol": example_module.ASSEMBLY,  # as the example's cells, naming their glovebox
                "parameters": {"o2_ppm": "0.05 ppm", "h2o_ppm": "0.05 ppm", "electrolyte_volume": "40 µL"},
                "instruments": [{"role": "glovebox", "instrument": example_module.GLOVEBOX.code}],
                "inputs": [
                    {"role": "anode", "item": anode, "amount": "1 count"},
                    {"role": "cathode", "item": made.cathode, "amount": "1.13 cm**2"},
                    {"role": "separator", "item": lots["PP separator"], "amount": "1 count"},
                    {"role": "electrolyte", "item": lots["electrolyte LiTFSI DOL/DME"], "amount": "40 µL"},
                    {"role": "case", "item": lots["CR2025 case"], "amount": "1 count"},
                ],
                "outputs": [{"type": "CR2025 coin cell"}],
            },
        )["outputs"][0]["code"]
        content = lfp_cycling(cycles=30, fade_per_cycle_pct=0.2)
        uploaded = api.post(
            f"/api/v1/items/{cell}/tests",
            files={"file": (f"{cell}.csv", content)},
            data={"protocol": "lfp-li-cycling@1", "options": '{"active_mass": "12.49 mg"}'},
        )
        assert uploaded.status_code == 201, uploaded.text
        cells.append(cell)
    return batch, cells


def test_a_cohort_comparison_lists_the_upstream_parameters_that_differ(
    api: TestClient, example: WorkedExample
) -> None:
    hot, hot_cells = hot_batch_cells(api, example)
    answer = api.get(
        "/api/v1/tests/compare",
        params=[
            ("cohort", f"as made:descends_from={example.mof_copc}"),
            ("cohort", f"hot:descends_from={hot}"),
        ],
    )
    assert answer.status_code == 200, answer.text
    comparison = answer.json()
    assert comparison["by"] == "cohort"
    assert [c["cells"] for c in comparison["cohorts"]] == [example.cells["MOF@CoPc/Li"], hot_cells]
    groups = {g["group"]: g for g in comparison["groups"]}
    assert groups["as made"]["n"] == 2 and groups["hot"]["n"] == 2
    assert groups["hot"]["mean"]["fade_per_cycle"] > groups["as made"]["mean"]["fade_per_cycle"]
    assert groups["hot"]["sd"]["fade_per_cycle"] is not None
    differences = comparison["upstream_differences"]
    by_parameter = {(d["protocol"], d["parameter"]): d["values"] for d in differences["parameters"]}
    # Only what really differs: the impregnation temperature; the shared synthesis, casting and assembly
    # parameters are the same for both.
    assert by_parameter == {
        ("mof-copc-impregnation@1", "temperature"): {"as made": ["75 degC"], "hot": ["85 degC"]}
    }
    assert differences["protocols_only_in"] == {}
    (deviation,) = differences["deviations"]["hot"]
    assert deviation["field"] == "/parameters/temperature" and deviation["got"] == "85 degC"
    assert "as made" not in differences["deviations"]
    items = {d["type"]: d["items"] for d in differences["items"]}
    assert items["MOF@CoPc"] == {"as made": [example.mof_copc], "hot": [hot]}
    assert "NH2-MIL-101(Fe)" not in items  # the same MOF batch upstream of both


def test_coated_against_bare_li_names_the_steps_only_the_coated_cells_went_through(
    api: TestClient, example: WorkedExample
) -> None:
    bare = example.cells["bare Li"][0]  # a cell is its own cohort's root
    answer = api.get(
        "/api/v1/tests/compare",
        params=[
            ("cohort", f"MOF@CoPc:descends_from={example.mof_copc}"),
            ("cohort", f"bare:descends_from={bare}"),
            ("cohort", f"all:descends_from={example.cathode}"),
            ("protocol", "lfp-li-cycling@1"),
        ],
    ).json()
    groups = {g["group"]: g["n"] for g in answer["groups"]}
    assert groups == {"MOF@CoPc": 2, "bare": 1, "all": 6}  # a cell may be in several cohorts
    only = answer["upstream_differences"]["protocols_only_in"]
    assert "bare" not in only
    assert set(only["MOF@CoPc"]) == {
        "nh2-mil-101-fe-hydrothermal@1",
        "mof-copc-impregnation@1",
        "coating-solution@1",
        "li-drop-coating@1",
    }
    assert only["all"] == only["MOF@CoPc"]


@pytest.mark.parametrize(
    "cohort",
    ["coated", "coated:descends_from=", "a:b:descends_from=MCP-0001", "coated:from=MCP-0001"],
)
def test_a_malformed_cohort_is_a_422_naming_the_syntax(api: TestClient, cohort: str) -> None:
    answer = api.get("/api/v1/tests/compare", params={"cohort": cohort})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "descends_from" in answer.text


def test_an_unknown_cohort_root_or_a_repeated_name_is_refused(api: TestClient) -> None:
    unknown = api.get("/api/v1/tests/compare", params={"cohort": "x:descends_from=NOPE-9999"})
    assert unknown.status_code == 422 and "NOPE-9999" in unknown.text
    twice = api.get(
        "/api/v1/tests/compare", params=[("cohort", "x:descends_from=A-1"), ("cohort", "x:descends_from=A-1")]
    )
    assert twice.status_code == 422 and "twice" in twice.text


def test_the_client_and_cli_compare_cohorts(api: TestClient, example: WorkedExample) -> None:
    with Client(token=api.headers["Authorization"].removeprefix("Bearer "), http=api) as client:
        comparison = client.compare(
            cohorts=[f"coated:descends_from={example.mof_copc}", f"MOF only:descends_from={example.mof}"]
        )
    assert [g.group for g in comparison.groups] == ["coated", "MOF only"]
    assert comparison.upstream_differences is not None
