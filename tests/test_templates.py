"""Protocol templates through the API: the built-in library, enforcement on POST /steps, units, deviations,
the lifecycle of versions, quality release and roles. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from schemas import Role

LIBRARY = {
    "nh2-mil-101-fe-hydrothermal",
    "mof-copc-impregnation",
    "coating-solution",
    "li-drop-coating",
    "cu-drop-coating",
    "lfp-cathode-casting",
    "cr2025-assembly",
    "pouch-assembly",
    "lfp-li-cycling",
    "ncm811-li-cycling",
    "anode-free-pouch-cycling",
    "li-cu-coulombic-efficiency",
    "li-li-symmetric",
}
BATCH_TYPES = [
    "NH2-MIL-101(Fe)",
    "MOF@CoPc",
    "coating solution",
    "MOF@CoPc/Li anode",
    "MOF/Li anode",
    "MOF@CoPc/Cu",
    "LFP cathode sheet",
    "NCM811 cathode sheet",
    "CR2025 coin cell",
    "pouch cell",
]
# Test-only template that makes any batch or cell from nothing, so each test can stock what it needs.
STOCK = {
    "name": "stock",
    "title": "Stock for tests",
    "outputs": [{"types": [t], "min_count": 0, "max_count": 100} for t in BATCH_TYPES],
}


def q(text: str) -> dict[str, Any]:
    value, unit = text.split(" ", 1)
    return {"value": float(value), "unit": unit}


class Stock:
    """Makes lots (POST /lots) and batches (a step under the test-only `stock` template) on demand."""

    def __init__(self, api: TestClient, admin: TestClient) -> None:
        self.api = api
        created = admin.post("/templates", json=STOCK)
        assert created.status_code == 201, created.text
        self.types = {t["name"]: t["kind"] for t in api.get("/item-types").json()}

    def __call__(self, type_name: str, quantity: str) -> str:
        if self.types[type_name] == "lot":
            response = self.api.post("/lots", json={"type": type_name, "quantity": quantity})
            assert response.status_code == 201, response.text
            return str(response.json()["code"])
        response = self.api.post(
            "/steps",
            json={"protocol": "stock@1", "outputs": [{"type": type_name, "quantity": quantity}]},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["outputs"][0]["code"])


@pytest.fixture
def stock(api: TestClient, admin: TestClient) -> Stock:
    return Stock(api, admin)


def inputs(stock: Stock, *entries: tuple[str, str, str, str | None]) -> list[dict[str, Any]]:
    """(role, item type, stock quantity, amount used) → step inputs, each from a fresh lot or batch."""
    made = []
    for role, type_name, have, used in entries:
        entry: dict[str, Any] = {"role": role, "item": stock(type_name, have)}
        if used is not None:
            entry["amount"] = used
        made.append(entry)
    return made


# --- a conforming step for every built-in process template -------------------------------------------


def hydrothermal(stock: Stock) -> dict[str, Any]:
    return {
        "protocol": "nh2-mil-101-fe-hydrothermal@1",
        "parameters": {
            "temperature": q("110 degC"),
            "duration": q("24 h"),
            "drying_temperature": q("60 degC"),
            "drying_time": q("12 h"),
            "centrifuge_speed": q("10000 rpm"),
        },
        "inputs": inputs(
            stock,
            ("iron_source", "FeCl3·6H2O", "25 g", "2.75 g"),
            ("linker", "2-aminoterephthalic acid", "10 g", "1.105 g"),
            ("solvent", "DMF", "1 L", "80 mL"),
            ("wash_solvent", "ethanol", "1 L", "40 mL"),
        ),
        "outputs": [{"type": "NH2-MIL-101(Fe)", "quantity": "0.9 g"}],
    }


def impregnation(stock: Stock) -> dict[str, Any]:
    return {
        "protocol": "mof-copc-impregnation@1",
        "parameters": {
            "temperature": q("75 degC"),
            "duration": q("40 h"),
            "drying_temperature": q("120 degC"),
            "drying_time": q("12 h"),
        },
        "inputs": inputs(
            stock,
            ("mof", "NH2-MIL-101(Fe)", "1 g", "60 mg"),
            ("copc", "CoPc", "1 g", "5 mg"),
            ("solvent", "DMF", "1 L", "40 mL"),
        ),
        "outputs": [{"type": "MOF@CoPc", "quantity": "62 mg"}],
    }


def coating_solution(stock: Stock) -> dict[str, Any]:
    return {
        "protocol": "coating-solution@1",
        "parameters": {"duration": q("4 h")},
        "inputs": inputs(
            stock, ("material", "MOF@CoPc", "100 mg", "60 mg"), ("solvent", "THF", "100 mL", "1.64 mL")
        ),
        "outputs": [{"type": "coating solution", "quantity": "1.64 mL"}],
    }


def drop_coating(substrate: str, made: str, protocol: str) -> Callable[[Stock], dict[str, Any]]:
    def body(stock: Stock) -> dict[str, Any]:
        return {
            "protocol": protocol,
            "parameters": {"drop_volume": q("50 µL"), "drying_time": q("2 h"), "atmosphere": "Ar glovebox"},
            "inputs": inputs(
                stock,
                ("coating_solution", "coating solution", "1.64 mL", "200 µL"),
                ("substrate", substrate, "50 count", "4 count"),
            ),
            "outputs": [{"type": made, "count": 4}],
        }

    return body


def casting(stock: Stock) -> dict[str, Any]:
    return {
        "protocol": "lfp-cathode-casting@1",
        "parameters": {"drying_temperature": q("120 degC"), "drying_time": q("12 h")},
        "inputs": inputs(
            stock,
            ("active_material", "LFP", "50 g", "0.8 g"),
            ("binder", "PVDF", "10 g", "0.1 g"),
            ("conductive_additive", "carbon black", "10 g", "0.1 g"),
            ("solvent", "NMP", "100 mL", "4 mL"),
            ("current_collector", "carbon-coated Al foil", "10 count", "1 count"),
        ),
        "outputs": [
            {
                "type": "LFP cathode sheet",
                "quantity": "60 cm**2",
                "properties": {"areal_loading": q("11.05 mg/cm**2")},
            }
        ],
    }


def coin_cell(stock: Stock) -> dict[str, Any]:
    return {
        "protocol": "cr2025-assembly@1",
        "parameters": {"o2_ppm": q("0.05 ppm"), "h2o_ppm": q("0.05 ppm"), "electrolyte_volume": q("40 µL")},
        "inputs": inputs(
            stock,
            ("anode", "MOF@CoPc/Li anode", "1 count", "1 count"),
            ("cathode", "LFP cathode sheet", "60 cm**2", "1.13 cm**2"),
            ("separator", "PP separator", "100 count", "1 count"),
            ("electrolyte", "electrolyte LiTFSI DOL/DME", "20 mL", "40 µL"),
            ("case", "CR2025 case", "50 count", "1 count"),
        ),
        "outputs": [{"type": "CR2025 coin cell"}],
    }


def pouch_cell(stock: Stock) -> dict[str, Any]:
    return {
        "protocol": "pouch-assembly@1",
        "parameters": {"o2_ppm": q("0.02 ppm"), "h2o_ppm": q("0.08 ppm"), "electrolyte_volume": q("2 mL")},
        "inputs": inputs(
            stock,
            ("cathode", "NCM811 cathode sheet", "500 cm**2", "50 cm**2"),
            ("anode", "MOF@CoPc/Cu", "1 count", "1 count"),
            ("separator", "PP separator", "100 count", "1 count"),
            ("electrolyte", "electrolyte LiPF6 EC/DEC", "50 mL", "2 mL"),
            ("pouch", "pouch foil", "20 count", "1 count"),
        ),
        "outputs": [{"type": "pouch cell"}],
    }


Body = dict[str, Any]
Mutation = tuple[str, Callable[[Body], None], str, str]
"""(what, change the body in place, JSON pointer of the problem, words of its detail)."""


def _set(path: list[Any], value: Any) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        target = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _drop(path: list[Any]) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        target = body
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


def _common(first_parameter: str, out_of_range: Any, wrong_unit: Any, other_type: str) -> list[Mutation]:
    """Mutations every process template refuses: missing, unknown, wrong dimension, out of range, wrong
    item type for a role, a role left out, an output it does not make."""
    return [
        (
            "missing parameter",
            _drop(["parameters", first_parameter]),
            f"/parameters/{first_parameter}",
            "required",
        ),
        (
            "unknown parameter",
            _set(["parameters", "colour"], "blue"),
            "/parameters/colour",
            "has no parameter",
        ),
        (
            "wrong dimension",
            _set(["parameters", first_parameter], wrong_unit),
            f"/parameters/{first_parameter}/unit",
            "measured in units of",
        ),
        (
            "out of range",
            _set(["parameters", first_parameter], out_of_range),
            f"/parameters/{first_parameter}",
            "out of range",
        ),
        ("unknown role", _set(["inputs", 0, "role"], "catalyst"), "/inputs/0/role", "no input role"),
        ("role left out", _drop(["inputs", 0]), "/inputs", "needs at least 1"),
        (
            "output it does not make",
            _set(["outputs", 0, "type"], other_type),
            "/outputs/0/type",
            "does not make",
        ),
    ]


def _wrong_item(stock_type: str, quantity: str, role_index: int = 0) -> Callable[[Stock], Mutation]:
    """A mutation that puts an item of the wrong type into a role (needs the stock to make that item)."""

    def make(stock: Stock) -> Mutation:
        code = stock(stock_type, quantity)
        return (
            "wrong item type",
            _set(["inputs", role_index, "item"], code),
            f"/inputs/{role_index}/item",
            "role takes",
        )

    return make


CASES: dict[str, tuple[Callable[[Stock], Body], list[Mutation], list[Callable[[Stock], Mutation]]]] = {
    "nh2-mil-101-fe-hydrothermal": (
        hydrothermal,
        [
            *_common("temperature", q("130 degC"), q("110 mL"), "MOF@CoPc"),
            ("too much iron", _set(["inputs", 0, "amount"], "3 g"), "/inputs/0/amount", "out of range"),
            ("mass as volume", _set(["inputs", 0, "amount"], "2.75 mL"), "/inputs/0/amount/unit", "not mL"),
            (
                "ratio off, masses in range",
                lambda b: (
                    _set(["inputs", 0, "amount"], "2.62 g")(b),
                    _set(["inputs", 1, "amount"], "1.16 g")(b),
                ),
                "/checks/fe_linker_ratio",
                "Fe : linker molar ratio",
            ),
            ("yield left out", _drop(["outputs", 0, "quantity"]), "/outputs/0/quantity", "required"),
            ("two batches", _set(["outputs", 0, "count"], 2), "/outputs", "at most 1"),
        ],
        [_wrong_item("DMF", "1 L")],
    ),
    "mof-copc-impregnation": (
        impregnation,
        [
            *_common("temperature", q("90 degC"), q("75 h"), "NH2-MIL-101(Fe)"),
            (
                "CoPc fraction off, masses in range",
                lambda b: (
                    _set(["inputs", 0, "amount"], "57 mg")(b),
                    _set(["inputs", 1, "amount"], "5.25 mg")(b),
                ),
                "/checks/copc_mass_fraction",
                "CoPc",
            ),
        ],
        [_wrong_item("CoPc", "1 g")],
    ),
    "coating-solution": (
        coating_solution,
        [
            *_common("duration", q("6 h"), q("4 degC"), "MOF@CoPc"),
            ("too little THF", _set(["inputs", 1, "amount"], "1.2 mL"), "/inputs/1/amount", "out of range"),
        ],
        [_wrong_item("DMF", "1 L", role_index=1)],
    ),
    "li-drop-coating": (
        drop_coating("Li foil disc", "MOF@CoPc/Li anode", "li-drop-coating@1"),
        [
            *_common("drop_volume", q("80 µL"), q("50 mg"), "MOF@CoPc/Cu"),
            (
                "outside the glovebox",
                _set(["parameters", "atmosphere"], "air"),
                "/parameters/atmosphere",
                "choices",
            ),
            (
                "too little solution",
                _set(["inputs", 0, "amount"], "150 µL"),
                "/checks/volume_per_disc",
                "drop volume",
            ),
            (
                "anodes without discs",
                _set(["outputs", 0, "count"], 5),
                "/checks/anodes_per_disc",
                "one coated anode",
            ),
        ],
        [_wrong_item("Cu foil", "10 count", role_index=1)],
    ),
    "cu-drop-coating": (
        drop_coating("Cu foil", "MOF@CoPc/Cu", "cu-drop-coating@1"),
        [*_common("drop_volume", q("30 µL"), q("50 s"), "MOF@CoPc/Li anode")],
        [_wrong_item("Li foil disc", "10 count", role_index=1)],
    ),
    "lfp-cathode-casting": (
        casting,
        [
            *_common("drying_temperature", q("150 degC"), q("120 V"), "NCM811 cathode sheet"),
            ("not 8:1:1", _set(["inputs", 1, "amount"], "0.3 g"), "/checks/active_fraction", "LFP share"),
            (
                "loading left out",
                _drop(["outputs", 0, "properties", "areal_loading"]),
                "/outputs/0/properties/areal_loading",
                "required",
            ),
            (
                "loading as a mass",
                _set(["outputs", 0, "properties", "areal_loading"], q("11 mg")),
                "/outputs/0/properties/areal_loading/unit",
                "measured in units of",
            ),
            (
                "unknown property",
                _set(["outputs", 0, "properties", "colour"], "grey"),
                "/outputs/0/properties/colour",
                "no property",
            ),
        ],
        [_wrong_item("NCM811", "10 g")],
    ),
    "cr2025-assembly": (
        coin_cell,
        [
            *_common("o2_ppm", q("0.5 ppm"), q("0.05 mL"), "pouch cell"),
            (
                "wet glovebox",
                _set(["parameters", "h2o_ppm"], q("0.3 ppm")),
                "/parameters/h2o_ppm",
                "out of range",
            ),
            ("80 µL electrolyte", _set(["inputs", 3, "amount"], "80 µL"), "/inputs/3/amount", "out of range"),
            ("no case", _drop(["inputs", 4]), "/inputs", "case role needs at least 1"),
        ],
        [_wrong_item("NMP", "100 mL", role_index=3)],
    ),
    "pouch-assembly": (
        pouch_cell,
        _common("o2_ppm", q("1 ppm"), q("1 degC"), "CR2025 coin cell"),
        [_wrong_item("LFP cathode sheet", "60 cm**2")],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_builtin_template_accepts_a_conforming_step_and_refuses_mutations(
    name: str, api: TestClient, stock: Stock
) -> None:
    build, mutations, item_mutations = CASES[name]
    body = build(stock)
    logged = api.post("/steps", json=copy.deepcopy(body))
    assert logged.status_code == 201, logged.text
    step = logged.json()
    assert step["protocol"] == f"{name}@1" and step["deviating"] is False and step["deviations"] == []

    body = build(stock)  # fresh inputs: the first step used some up
    for what, change, pointer, words in [*mutations, *(make(stock) for make in item_mutations)]:
        mutated = copy.deepcopy(body)
        change(mutated)
        refused = api.post("/steps", json=mutated)
        assert refused.status_code == 422, f"{what}: {refused.status_code} {refused.text}"
        problems = refused.json()["errors"]
        matching = [p for p in problems if p["pointer"] == pointer and words in p["detail"]]
        assert matching, f"{what}: no {pointer!r} problem saying {words!r} in {problems}"
        assert "expected" in matching[0]
    assert len(api.get("/steps", params={"protocol": name}).json()["items"]) == 1


def test_every_problem_is_listed_at_once(api: TestClient, stock: Stock) -> None:
    body = hydrothermal(stock)
    body["parameters"]["temperature"] = q("130 degC")
    del body["parameters"]["duration"]
    body["parameters"]["colour"] = "blue"
    body["inputs"][0]["amount"] = "2.75 mL"
    body["outputs"][0]["type"] = "MOF@CoPc"
    refused = api.post("/steps", json=body)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    pointers = {p["pointer"] for p in refused.json()["errors"]}
    assert pointers == {
        "/parameters/temperature",
        "/parameters/duration",
        "/parameters/colour",
        "/inputs/0/amount/unit",
        "/outputs/0/type",
        "/outputs",  # and so it makes no NH2-MIL-101(Fe)
    }
    temperature = next(p for p in refused.json()["errors"] if p["pointer"] == "/parameters/temperature")
    assert temperature["expected"] == "110 ± 5 degC" and temperature["got"] == "130 degC"
    assert api.get("/items", params={"type": "NH2-MIL-101(Fe)"}).json()["items"] == []


def test_quantities_in_any_compatible_unit_are_accepted_and_kept_as_entered(
    api: TestClient, stock: Stock
) -> None:
    body = hydrothermal(stock)
    body["inputs"][0]["amount"] = "2750 mg"
    body["parameters"]["temperature"] = q("383.15 K")
    body["parameters"]["duration"] = q("1440 min")
    logged = api.post("/steps", json=body)
    assert logged.status_code == 201, logged.text
    step = logged.json()
    assert step["inputs"][0]["amount"] == {"value": 2750, "unit": "mg"}
    assert step["normalized"]["/inputs/0/amount"] == {"value": pytest.approx(2.75), "unit": "g"}
    assert step["parameters"]["temperature"] == {"value": 383.15, "unit": "K"}
    assert step["normalized"]["/parameters/temperature"]["value"] == pytest.approx(110)
    assert step["normalized"]["/parameters/duration"] == {"value": pytest.approx(24), "unit": "h"}
    lot = api.get(f"/items/{body['inputs'][0]['item']}").json()
    assert lot["remaining"] == {"value": pytest.approx(22.25), "unit": "g"}


def test_unknown_protocol_is_refused(api: TestClient, stock: Stock) -> None:
    body = coating_solution(stock)
    for protocol in ("no-such-protocol@1", "coating-solution@7"):
        refused = api.post("/steps", json={**body, "protocol": protocol})
        assert refused.status_code == 422
        (problem,) = refused.json()["errors"]
        assert problem["pointer"] == "/protocol" and "unknown protocol" in problem["detail"]
    assert (
        "coating-solution@1"
        in api.post("/steps", json={**body, "protocol": "coating-solution@7"}).json()["errors"][0]["expected"]
    )


# --- deviations ------------------------------------------------------------------------------------------


def test_an_out_of_range_value_is_accepted_with_a_justification_and_shown_as_deviating(
    api: TestClient, stock: Stock
) -> None:
    body = hydrothermal(stock)
    body["parameters"]["temperature"] = q("120 degC")
    body["deviations"] = [
        {
            "field": "/parameters/temperature",
            "justification": "exploring crystallinity at a higher temperature",
        }
    ]
    logged = api.post("/steps", json=body)
    assert logged.status_code == 201, logged.text
    step = logged.json()
    assert step["deviating"] is True
    assert step["deviations"] == [
        {
            "field": "/parameters/temperature",
            "justification": "exploring crystallinity at a higher temperature",
            "expected": "110 ± 5 degC",
            "got": "120 degC",
        }
    ]
    assert [s["id"] for s in api.get("/steps", params={"deviating": "true"}).json()["items"]] == [step["id"]]
    assert step["id"] not in [
        s["id"] for s in api.get("/steps", params={"deviating": "false"}).json()["items"]
    ]
    made = step["outputs"][0]["code"]
    lineage = api.get(f"/items/{made}/lineage").json()
    assert lineage["edges"] and all(edge["deviating"] for edge in lineage["edges"])
    assert "(deviating)" in api.get(f"/items/{made}/lineage", params={"format": "dot"}).text


def test_a_failed_check_can_be_justified_too(api: TestClient, stock: Stock) -> None:
    body = hydrothermal(stock)
    body["inputs"][0]["amount"] = "2.62 g"
    body["inputs"][1]["amount"] = "1.16 g"
    body["deviations"] = [
        {"field": "/checks/fe_linker_ratio", "justification": "linker excess on purpose (defects)"}
    ]
    logged = api.post("/steps", json=body)
    assert logged.status_code == 201, logged.text
    assert logged.json()["computed"]["fe_linker_ratio"]["value"] == pytest.approx(1.514, abs=1e-3)


def test_deviations_excuse_only_out_of_range_values(api: TestClient, stock: Stock) -> None:
    body = hydrothermal(stock)
    del body["parameters"]["duration"]
    body["deviations"] = [
        {"field": "/parameters/temperature", "justification": "it was within range anyway, just in case"},
        {"field": "/parameters/duration", "justification": "forgot to write the duration down"},
    ]
    refused = api.post("/steps", json=body)
    assert refused.status_code == 422
    pointers = sorted(p["pointer"] for p in refused.json()["errors"])
    assert pointers == ["/deviations/0/field", "/deviations/1/field", "/parameters/duration"]
    assert all(
        "nothing to deviate from" in p["detail"]
        for p in refused.json()["errors"]
        if "deviations" in p["pointer"]
    )
    short = hydrothermal(stock)
    short["parameters"]["temperature"] = q("120 degC")
    short["deviations"] = [{"field": "/parameters/temperature", "justification": "why"}]
    assert api.post("/steps", json=short).status_code == 422


# --- lifecycle ---------------------------------------------------------------------------------------------


def _next_version(api: TestClient, name: str, **changes: Any) -> dict[str, Any]:
    current = api.get(f"/templates/{name}").json()
    body = {
        key: current[key]
        for key in (
            "name",
            "title",
            "description",
            "kind",
            "parameters",
            "inputs",
            "outputs",
            "constants",
            "derived",
            "checks",
        )
    }
    body.update(changes)
    return body


def test_the_library_is_loaded_and_published(api: TestClient) -> None:
    listed = {t["name"]: t for t in api.get("/templates").json()}
    assert set(listed) == LIBRARY
    # The library's versions: 1 of each, and a second coin-cell assembly that names its glovebox.
    assert {name: t["published"] for name, t in listed.items() if t["published"] != [1]} == {
        "cr2025-assembly": [1, 2]
    }
    assert all(t["retired"] == [] for t in listed.values())
    assert {t["name"] for t in api.get("/templates", params={"kind": "test"}).json()} == {
        "lfp-li-cycling",
        "ncm811-li-cycling",
        "anode-free-pouch-cycling",
        "li-cu-coulombic-efficiency",
        "li-li-symmetric",
    }
    template = api.get("/templates/cr2025-assembly/versions/1").json()
    assert template["ref"] == "cr2025-assembly@1" and template["created_by"] == "cellprov"
    assert template["instruments"] == [] and template["requires_calibrated_equipment"] is False
    second = api.get("/templates/cr2025-assembly").json()
    assert second["ref"] == "cr2025-assembly@2" and second["created_by"] == "cellprov"
    assert [(i["role"], i["kind"]) for i in second["instruments"]] == [("glovebox", "glovebox")]
    assert second["requires_calibrated_equipment"] is True
    assert second["parameters"] == template["parameters"] and second["inputs"] == template["inputs"]
    o2 = next(p for p in template["parameters"] if p["name"] == "o2_ppm")
    assert o2["max"] == 0.1 and o2["unit"] == "ppm"
    schema = api.get("/templates/schema").json()
    assert {"name", "parameters", "inputs", "outputs", "checks"} <= set(schema["properties"])


def test_a_new_version_is_published_and_the_old_one_stays_as_it_was(
    api: TestClient, as_role: dict[Role, TestClient], stock: Stock
) -> None:
    reviewer = as_role[Role.reviewer]
    template = _next_version(api, "coating-solution")
    template["parameters"] = [{"name": "duration", "unit": "h", "nominal": 6, "tolerance_percent": 10}]
    assert api.post("/templates", json=template).status_code == 403  # scientists do not author
    published = reviewer.post("/templates", json=template)
    assert published.status_code == 201, published.text
    assert published.json()["version"] == 2 and published.json()["created_by"] == "rita"
    assert api.get("/templates/coating-solution").json()["version"] == 2
    assert api.get("/templates/coating-solution/versions/1").json()["parameters"][0]["nominal"] == 4

    body = coating_solution(stock)
    body["parameters"]["duration"] = q("6 h")
    assert api.post("/steps", json={**body, "protocol": "coating-solution@2"}).status_code == 201
    assert api.post("/steps", json=body).status_code == 422  # 6 h is out of range for version 1

    diff = api.get("/templates/coating-solution/diff", params={"from": 1, "to": 2}).json()
    assert diff["changes"] == [
        {"pointer": "/parameters/duration/nominal", "change": "changed", "old": 4.0, "new": 6.0},
        {
            "pointer": "/parameters/duration/description",
            "change": "changed",
            "old": "stirring time",
            "new": "",
        },
    ] or {c["pointer"] for c in diff["changes"]} == {
        "/parameters/duration/nominal",
        "/parameters/duration/description",
    }


def test_published_versions_are_immutable(admin: TestClient) -> None:
    template = _next_version(admin, "coating-solution")
    same = admin.post("/templates", json=template)
    assert same.status_code == 409 and "nothing changed" in same.json()["detail"]
    template["title"] = "Coating solution, edited"
    rewrite = admin.post("/templates", json={**template, "version": 1})
    assert rewrite.status_code == 409
    assert rewrite.json()["errors"][0] == {
        "pointer": "/version",
        "detail": "publish a change as the next version",
        "expected": 2,
        "got": 1,
    }
    for method in ("PUT", "PATCH", "DELETE"):
        assert (
            admin.request(method, "/templates/coating-solution/versions/1", json=template).status_code == 405
        )
    assert admin.get("/templates/coating-solution/versions/1").json()["title"] != "Coating solution, edited"
    assert admin.post("/templates", json={**template, "version": 2}).status_code == 201


def test_a_retired_version_takes_no_new_steps(
    api: TestClient, as_role: dict[Role, TestClient], stock: Stock
) -> None:
    reviewer = as_role[Role.reviewer]
    body = coating_solution(stock)
    assert api.post("/steps", json=body).status_code == 201
    reason = {"reason": "replaced by the 6 h protocol"}
    assert api.post("/templates/coating-solution/versions/1/retire", json=reason).status_code == 403
    retired = reviewer.post("/templates/coating-solution/versions/1/retire", json=reason)
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
    refused = api.post("/steps", json=coating_solution(stock))
    assert refused.status_code == 422
    assert "retired" in refused.json()["errors"][0]["detail"]
    again = reviewer.post("/templates/coating-solution/versions/1/retire", json=reason)
    assert again.status_code == 409
    listed = {t["name"]: t for t in api.get("/templates").json()}["coating-solution"]
    assert listed["retired"] == [1] and listed["published"] == []
    # The step logged before keeps its version.
    assert (
        api.get("/steps", params={"protocol": "coating-solution@1"}).json()["items"][0]["status"]
        == "recorded"
    )


def test_a_template_with_unsafe_or_broken_rules_is_refused(admin: TestClient) -> None:
    template = {
        "name": "broken",
        "title": "Broken",
        "parameters": [{"name": "temperature", "unit": "degC", "nominal": 80, "tolerance": 5}],
        "inputs": [{"role": "solvent", "types": ["no such type"], "amount": {"unit": "zorks"}}],
        "outputs": [{"types": ["MOF@CoPc"]}],
        "checks": [
            {"name": "escape", "expression": "__import__('os').system('true')"},
            {"name": "dunder", "expression": "temperature.__class__"},
            {"name": "unknown", "expression": "inputs.catalyst / temperature"},
        ],
    }
    refused = admin.post("/templates", json=template)
    assert refused.status_code == 422
    pointers = sorted(p["pointer"] for p in refused.json()["errors"])
    assert pointers == [
        "/checks/0/expression",
        "/checks/1/expression",
        "/checks/2/expression",
        "/inputs/0/amount/unit",
        "/inputs/0/types/0",
    ]
    assert admin.get("/templates/broken").status_code == 404


# --- test protocols ----------------------------------------------------------------------------------------


def _cycling(cell: str, **overrides: Any) -> dict[str, Any]:
    parameters = {
        "c_rate": 1,
        "voltage_min": q("2.5 V"),
        "voltage_max": q("4.2 V"),
        "temperature": q("30 degC"),
        "areal_loading": q("11.05 mg/cm**2"),
        "electrode_area": q("1.13 cm**2"),
    }
    parameters.update(overrides)
    return {"parameters": parameters, "inputs": [{"role": "cell", "item": cell}]}


def test_a_test_protocol_computes_the_applied_current_from_the_active_mass(
    api: TestClient, stock: Stock
) -> None:
    cell = stock("CR2025 coin cell", "1 count")
    checked = api.post("/templates/lfp-li-cycling/versions/1/check", json=_cycling(cell))
    assert checked.status_code == 200, checked.text
    result = checked.json()
    assert result["conforms"] is True and result["problems"] == []
    assert result["computed"]["active_mass"] == {"value": pytest.approx(12.4865), "unit": "mg"}
    assert result["computed"]["applied_current"] == {"value": pytest.approx(2.1227, abs=1e-4), "unit": "mA"}
    fast = api.post("/templates/lfp-li-cycling/versions/1/check", json=_cycling(cell, c_rate=20)).json()
    assert fast["computed"]["applied_current"]["value"] == pytest.approx(42.45, abs=0.01)
    ncm = api.post(
        "/templates/ncm811-li-cycling/versions/1/check",
        json=_cycling(cell, voltage_min=q("2.8 V"), voltage_max=q("4.3 V")),
    ).json()
    assert ncm["conforms"] and ncm["computed"]["applied_current"]["value"] == pytest.approx(2.4973, abs=1e-4)


@pytest.mark.parametrize(
    ("name", "parameters", "pointer", "words"),
    [
        ("lfp-li-cycling", {"voltage_max": q("4.3 V")}, "/parameters/voltage_max", "out of range"),
        ("lfp-li-cycling", {"c_rate": "1C"}, "/parameters/c_rate", "plain number"),
        ("lfp-li-cycling", {"c_rate": 50}, "/parameters/c_rate", "out of range"),
        ("ncm811-li-cycling", {"voltage_min": q("2.5 V")}, "/parameters/voltage_min", "out of range"),
        ("anode-free-pouch-cycling", {"voltage_min": q("2.5 V")}, "/parameters/voltage_min", "out of range"),
        ("lfp-li-cycling", {"temperature": q("45 degC")}, "/parameters/temperature", "out of range"),
        ("lfp-li-cycling", {"areal_loading": q("11 mg")}, "/parameters/areal_loading/unit", "measured in"),
    ],
)
def test_test_protocol_settings_outside_the_protocol_are_reported(
    name: str, parameters: dict[str, Any], pointer: str, words: str, api: TestClient, stock: Stock
) -> None:
    cell = stock("pouch cell" if "pouch" in name else "CR2025 coin cell", "1 count")
    base = _cycling(cell)
    if name == "ncm811-li-cycling":
        base["parameters"].update(voltage_min=q("2.8 V"), voltage_max=q("4.3 V"))
    if name == "anode-free-pouch-cycling":
        base["parameters"].update(voltage_min=q("2.75 V"), voltage_max=q("4.2 V"), c_rate=0.1)
    assert api.post(f"/templates/{name}/versions/1/check", json=base).json()["conforms"] is True
    base["parameters"].update(parameters)
    result = api.post(f"/templates/{name}/versions/1/check", json=base).json()
    assert result["conforms"] is False
    assert [(p["pointer"], words in p["detail"]) for p in result["problems"]] == [(pointer, True)]


@pytest.mark.parametrize("name", ["li-cu-coulombic-efficiency", "li-li-symmetric"])
def test_areal_current_protocols(name: str, api: TestClient, stock: Stock) -> None:
    cell = stock("CR2025 coin cell", "1 count")
    values = {
        "parameters": {
            "current_density": q("1 mA/cm**2"),
            "areal_capacity": q("1 mAh/cm**2"),
            "electrode_area": q("2.01 cm**2"),
            "temperature": q("30 degC"),
        },
        "inputs": [{"role": "cell", "item": cell}],
    }
    result = api.post(f"/templates/{name}/versions/1/check", json=values).json()
    assert result["conforms"], result
    assert result["computed"]["applied_current"] == {"value": pytest.approx(2.01), "unit": "mA"}
    assert result["computed"]["half_cycle_time"] == {"value": pytest.approx(1), "unit": "h"}
    values["inputs"] = [{"role": "cell", "item": stock("pouch cell", "1 count")}]
    wrong = api.post(f"/templates/{name}/versions/1/check", json=values).json()
    assert [p["pointer"] for p in wrong["problems"]] == ["/inputs/0/item"]


def test_a_test_protocol_is_not_logged_as_a_step(api: TestClient, stock: Stock) -> None:
    cell = stock("CR2025 coin cell", "1 count")
    refused = api.post(
        "/steps",
        json={**_cycling(cell), "protocol": "lfp-li-cycling@1", "outputs": [{"type": "CR2025 coin cell"}]},
    )
    assert refused.status_code == 422
    assert "test protocol" in refused.json()["errors"][0]["detail"]


# --- quality release -------------------------------------------------------------------------------------


def test_quarantined_outputs_wait_for_a_reviewers_release(
    api: TestClient, as_role: dict[Role, TestClient], stock: Stock
) -> None:
    reviewer = as_role[Role.reviewer]
    template = _next_version(api, "nh2-mil-101-fe-hydrothermal")
    template["outputs"][0]["quarantined"] = True
    assert reviewer.post("/templates", json=template).status_code == 201
    body = hydrothermal(stock)
    made = api.post("/steps", json={**body, "protocol": "nh2-mil-101-fe-hydrothermal@2"})
    assert made.status_code == 201, made.text
    mof = made.json()["outputs"][0]["code"]
    assert api.get(f"/items/{mof}").json()["status"] == "quarantined"

    use = impregnation(stock)
    use["inputs"][0]["item"] = mof
    blocked = api.post("/steps", json=use)
    assert blocked.status_code == 409
    assert blocked.json()["errors"] == [
        {"pointer": "/inputs/0/item", "detail": f"{mof} is quarantined until released", "got": "quarantined"}
    ]

    assert api.post(f"/items/{mof}/release", json={}).status_code == 403
    released = reviewer.post(f"/items/{mof}/release", json={"note": "XRD matches NH2-MIL-101(Fe)"})
    assert released.status_code == 200 and released.json()["status"] == "released"
    history = api.get(f"/items/{mof}/history").json()
    assert history[-1]["action"] == "released" and history[-1]["reason"] == "XRD matches NH2-MIL-101(Fe)"
    assert reviewer.post(f"/items/{mof}/release", json={}).status_code == 409
    assert api.post("/steps", json=use).status_code == 201


def test_a_template_can_require_an_analysis_before_release(
    api: TestClient, as_role: dict[Role, TestClient], stock: Stock
) -> None:
    reviewer = as_role[Role.reviewer]
    template = _next_version(api, "nh2-mil-101-fe-hydrothermal")
    template["outputs"][0].update(quarantined=True, release_requires=["XRD"])
    assert reviewer.post("/templates", json=template).status_code == 201
    made = api.post("/steps", json={**hydrothermal(stock), "protocol": "nh2-mil-101-fe-hydrothermal@2"})
    mof = made.json()["outputs"][0]["code"]

    early = reviewer.post(f"/items/{mof}/release", json={})
    assert early.status_code == 409 and "XRD" in early.json()["detail"]
    assert api.get(f"/items/{mof}").json()["status"] == "quarantined"

    xrd = {"technique": "XRD", "subjects": [mof], "title": "phase check", "results": []}
    assert api.post("/analyses", json=xrd).status_code == 201, "the XRD analysis is recorded"
    assert reviewer.post(f"/items/{mof}/release", json={}).status_code == 200

    template["outputs"][0]["quarantined"] = False
    refused = reviewer.post("/templates", json={**template, "version": 3})
    assert refused.status_code == 422 and "release_requires" in refused.text
