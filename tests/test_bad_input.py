"""Bad input gets a clear 4xx in problem+json, never a 500, and changes nothing."""

import json

import pytest

from tests.lab import (
    SYNTHESIS,
    all_items,
    item,
    pointers,
    problem_of,
    publish_bench,
    receive,
    remaining,
    step_body,
    used,
)


@pytest.fixture(autouse=True)
def _bench(admin):
    publish_bench(admin, SYNTHESIS)


LOT = {"type": "DMF", "quantity": "1 L"}


def _post_text(api, path, text):
    """POST a body exactly as written, e.g. JSON that Python's parser accepts but JSON does not (NaN)."""
    return api.post(path, content=text.encode(), headers={"Content-Type": "application/json"})


def _nothing_recorded(api):
    assert all_items(api) == []
    assert api.get("/steps").json()["items"] == []


@pytest.fixture
def lot(api):
    return receive(api, "FeCl3·6H2O", "25 g")["code"]


# --- bodies that are not what they should be ----------------------------------------------------------------


def test_a_body_that_is_not_a_json_object_is_refused(api):
    for text in [
        b'{"type": "DMF", "quantity": ',
        b"not json at all",
        b"",
        b"[]",
        b'"DMF"',
        b"null",
        b'{"type": "DMF",}',
    ]:
        response = api.post("/lots", content=text, headers={"Content-Type": "application/json"})
        assert problem_of(response, 422)["errors"], text
    # Bytes that are not UTF-8 cannot even be parsed: FastAPI's own 400, still as problem+json.
    not_utf8 = b'{"type": "DMF\xff\xfe", "quantity": "1 L"}'
    problem_of(api.post("/lots", content=not_utf8, headers={"Content-Type": "application/json"}), 400)
    _nothing_recorded(api)


def test_a_body_sent_as_another_media_type_is_refused(api):
    response = api.post("/lots", content=json.dumps(LOT), headers={"Content-Type": "text/plain"})
    problem_of(response, 422)
    _nothing_recorded(api)


def test_unknown_fields_at_every_depth_are_all_listed(api, lot):
    refused = problem_of(
        api.post(
            "/lots",
            json={**LOT, "colour": "clear", "quantity": {"value": 1, "unit": "L", "uncertainty": 0.01}},
        ),
        422,
    )
    assert pointers(refused) == {"/colour", "/quantity/uncertainty"}

    body = step_body(
        SYNTHESIS,
        [{**used("iron_source", lot, "2.75 g"), "purity": "97 %"}, used("x", lot, "1 g")],
        {"type": "NH2-MIL-101(Fe)", "yield": "80 %"},
        operator="someone else",
    )
    body["inputs"][1]["amount"] = {"value": 1, "unit": "g", "tare": 0}
    refused = problem_of(api.post("/steps", json=body), 422)
    assert pointers(refused) == {"/operator", "/inputs/0/purity", "/inputs/1/amount/tare", "/outputs/0/yield"}
    assert remaining(api, lot) == (25.0, "g")


WRONG_TYPES = [
    ({"type": 42, "quantity": "1 L"}, "/type"),
    ({"type": "DMF", "quantity": 5}, "/quantity"),
    ({"type": "DMF", "quantity": {"value": "lots", "unit": "L"}}, "/quantity/value"),
    ({"type": "DMF", "quantity": {"value": True, "unit": "L"}}, "/quantity/value"),
    ({"type": "DMF", "quantity": {"value": 1, "unit": 7}}, "/quantity/unit"),
    ({"type": "DMF", "quantity": ["1", "L"]}, "/quantity"),
    ({"type": "DMF", "quantity": "1 L", "received_on": "yesterday"}, "/received_on"),
    ({"type": "DMF", "quantity": "1 L", "received_on": "2025-02-30"}, "/received_on"),
    ({"type": "DMF", "quantity": "1 L", "properties": ["purity"]}, "/properties"),
    ({"type": "DMF", "quantity": "1 L", "name": {"en": "DMF"}}, "/name"),
    ({"type": ["DMF"], "quantity": "1 L"}, "/type"),
]


def test_wrong_types_are_refused_with_a_pointer(api):
    for lot_body, where in WRONG_TYPES:
        refused = problem_of(api.post("/lots", json=lot_body), 422)
        assert where in pointers(refused), lot_body
    _nothing_recorded(api)


def test_wrong_types_in_a_step_are_all_listed(api, lot):
    body = {
        "protocol": SYNTHESIS,
        "started_at": "last tuesday",
        "inputs": {"role": "iron_source", "item": lot},
        "outputs": [{"type": "NH2-MIL-101(Fe)", "count": "four"}, {"type": "NH2-MIL-101(Fe)", "count": 0}],
        "parameters": {"temperature": [110, "degC"]},
    }
    refused = problem_of(api.post("/steps", json=body), 422)
    where = {p.split("/")[1] for p in pointers(refused)}
    assert where == {"started_at", "inputs", "outputs", "parameters"}
    assert {"/outputs/0/count", "/outputs/1/count"} <= pointers(refused)


# --- numbers JSON has no room for ---------------------------------------------------------------------------


def test_non_finite_quantities_are_refused(api, lot):
    for number in ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"]:
        _refuse_non_finite_quantities(api, lot, number)
    assert remaining(api, lot) == (25.0, "g")
    assert [i["code"] for i in all_items(api)] == [lot]


def _refuse_non_finite_quantities(api, lot, number):
    refused = problem_of(
        _post_text(api, "/lots", f'{{"type": "DMF", "quantity": {{"value": {number}, "unit": "L"}}}}'), 422
    )
    assert pointers(refused) == {"/quantity/value"}
    as_text = problem_of(api.post("/lots", json={"type": "DMF", "quantity": f"{number} L"}), 422)
    assert as_text["errors"]
    step = _post_text(
        api,
        "/steps",
        json.dumps(
            step_body(SYNTHESIS, [used("iron_source", lot, "1 g")], {"type": "NH2-MIL-101(Fe)"})
        ).replace('"1 g"', f'{{"value": {number}, "unit": "g"}}'),
    )
    assert pointers(problem_of(step, 422)) == {"/inputs/0/amount/value"}


def test_non_finite_numbers_in_properties_and_parameters_are_refused(api, lot):
    for number in ["NaN", "Infinity", "1e400"]:
        _refuse_non_finite_json(api, lot, number)
    assert item(api, lot)["version"] == 1 and item(api, lot)["properties"] == {}
    assert [i["code"] for i in all_items(api)] == [lot]
    assert api.get("/steps").json()["items"] == []


def _refuse_non_finite_json(api, lot, number):
    lot_text = f'{{"type": "DMF", "quantity": "1 L", "properties": {{"water_ppm": {number}}}}}'
    problem_of(_post_text(api, "/lots", lot_text), 422)
    body = json.dumps(
        step_body(
            SYNTHESIS,
            [used("iron_source", lot, "1 g")],
            {"type": "NH2-MIL-101(Fe)", "properties": {"yield": "@"}},
            parameters={"temperature": "@"},
        )
    )
    problem_of(_post_text(api, "/steps", body.replace('{"yield": "@"}', f'{{"yield": {number}}}')), 422)
    problem_of(_post_text(api, "/steps", body.replace('"temperature": "@"', f'"temperature": {number}')), 422)
    response = api.patch(
        f"/items/{lot}",
        content=f'{{"reason": "certificate", "properties": {{"water_ppm": {number}}}}}'.encode(),
        headers={"Content-Type": "application/json", "If-Match": '"1"'},
    )
    problem_of(response, 422)


def test_huge_but_finite_numbers_are_kept_or_refused_cleanly(api, lot):
    # 1e300 L would overflow a float on conversion (to µL, say): quantities stop at 1e15 in any unit.
    huge = problem_of(api.post("/lots", json={"type": "DMF", "quantity": "1e300 L"}), 422)
    assert pointers(huge) == {"/quantity/value"}
    largest = receive(api, "DMF", "1e15 L")
    body = step_body(SYNTHESIS, [used("solvent", largest["code"], "1e15 kL")], {"type": "NH2-MIL-101(Fe)"})
    assert api.post("/steps", json=body).status_code in (409, 422)
    big_int = _post_text(
        api, "/lots", '{"type": "DMF", "quantity": {"value": ' + "9" * 400 + ', "unit": "L"}}'
    )
    assert big_int.status_code == 422
    long_property = api.post("/lots", json={**LOT, "properties": {"n": 10**100}})
    assert long_property.status_code == 201, long_property.text
    assert long_property.json()["properties"] == {"n": 10**100}


# --- text -----------------------------------------------------------------------------------------------


def test_unicode_names_are_kept_exactly_and_searchable(api):
    for name in [
        "🧪 MOF batch 🔋",
        "حمض أميني تيرفثاليك",
        "עברית\u200f mixed LTR",
        "Ñandú ｆｕｌｌｗｉｄｔｈ",
        "e\u0301",
    ]:
        code = receive(api, "DMF", "1 L", name=name, supplier=name, properties={name: name})["code"]
        shown = item(api, code)
        assert shown["name"] == shown["supplier"] == name
        assert shown["properties"] == {name: name}
        assert [i["code"] for i in all_items(api, q=name[:4])] == [code], name


def test_a_nul_byte_in_text_is_refused(api):
    for field in ["name", "supplier", "catalog_number", "supplier_lot"]:
        refused = problem_of(api.post("/lots", json={**LOT, field: "DMF\u0000anhydrous"}), 422)
        assert pointers(refused) == {f"/{field}"}
    refused = problem_of(api.post("/lots", json={**LOT, "properties": {"grade": ["ok", "\u0000"]}}), 422)
    assert pointers(refused) == {"/properties"}
    _nothing_recorded(api)


def test_a_nul_byte_anywhere_in_a_step_is_refused(api, lot):
    body = step_body(
        SYNTHESIS,
        [used("iron_source", lot, "1 g")],
        {"type": "NH2-MIL-101(Fe)", "name": "MOF\u0000", "properties": {"note\u0000": "x\u0000"}},
        notes="stirred\u0000",
        parameters={"atmosphere": "air\u0000"},
    )
    refused = problem_of(api.post("/steps", json=body), 422)
    assert pointers(refused) == {"/notes", "/parameters", "/outputs/0/name", "/outputs/0/properties"}
    problem_of(api.post("/item-types", json={"name": "x\u0000", "kind": "lot", "prefix": "X"}), 403)
    problem_of(api.post(f"/items/{lot}/void", json={"reason": "typo\u0000"}), 422)
    assert remaining(api, lot) == (25.0, "g") and item(api, lot)["status"] == "released"
    assert api.get("/steps").json()["items"] == []


def test_a_nul_byte_in_a_query_or_path_is_a_clean_answer(api, lot, admin):
    for path, params in [
        ("/items", {"q": "FECL\u0000"}),
        ("/items", {"type": "DMF\u0000"}),
        ("/steps", {"protocol": "x\u0000@1"}),
        ("/steps", {"item": "FECL\u0000"}),
        ("/steps", {"operator": "sam\u0000"}),
        (f"/items/{lot}/lineage", {"type": "DMF\u0000"}),
        ("/items/FECL%00-0001", {}),
        ("/items/FECL%00-0001/lineage", {}),
    ]:
        response = api.get(path, params=params)
        assert response.status_code in (200, 404, 422), (path, params, response.text)
    patch = api.patch("/items/FECL%00", json={"reason": "typo", "name": "x"}, headers={"If-Match": '"1"'})
    assert patch.status_code in (404, 422)
    assert item(api, lot)["version"] == 1


def test_over_long_strings_are_refused(api):
    for field, length in [("name", 201), ("supplier", 201), ("code", 65), ("type", 101)]:
        refused = problem_of(api.post("/lots", json={**LOT, field: "A" * length}), 422)
        assert pointers(refused) == {f"/{field}"}
        assert len(json.dumps(refused)) < 5000, "the answer does not echo a huge body back"
    _nothing_recorded(api)


def test_a_huge_body_is_refused_without_echoing_it(api, lot):
    body = step_body(
        SYNTHESIS, [used("iron_source", lot, "1 g")], {"type": "NH2-MIL-101(Fe)"}, notes="n" * 1_000_000
    )
    response = api.post("/steps", json=body)
    refused = problem_of(response, 422)
    assert pointers(refused) == {"/notes"}
    assert len(response.content) < 5000
    assert remaining(api, lot) == (25.0, "g")


# --- query parameters -------------------------------------------------------------------------------------


BAD_CURSORS = [
    "!!!",
    "abc",
    "bm90IGEgbnVtYmVy",  # "not a number"
    "/////",
    "%%",
    "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkw",  # a number too big for any id column
    "LTE=",  # -1
    "MA==",  # 0
    "",
    "x" * 5000,
]


def test_a_bad_cursor_is_refused(api, lot):
    for cursor in BAD_CURSORS:
        for path in ("/items", "/steps"):
            refused = problem_of(api.get(path, params={"cursor": cursor}), 422)
            assert pointers(refused) == {"query:cursor"}, cursor


def test_a_limit_out_of_range_is_refused(api):
    for limit in ["0", "-1", "501", "1e3", "ten", "99999999999999999999"]:
        for path in ("/items", "/steps"):
            assert pointers(problem_of(api.get(path, params={"limit": limit}), 422)) == {"query:limit"}


UNKNOWN_VALUES = [
    ("/items", "kind", "reagent"),
    ("/items", "status", "lost"),
    ("/items", "kind", "LOT"),
    ("/steps", "status", "done"),
    ("/items/{lot}/lineage", "direction", "both"),
    ("/items/{lot}/lineage", "format", "svg"),
    ("/items/{lot}/lineage", "kind", "potion"),
]


def test_unknown_enum_values_in_queries_are_refused(api, lot):
    for path, param, value in UNKNOWN_VALUES:
        refused = problem_of(api.get(path.format(lot=lot), params={param: value}), 422)
        assert pointers(refused) == {f"query:{param}"}


def test_an_overlong_query_is_refused(api):
    assert pointers(problem_of(api.get("/items", params={"q": "x" * 201}), 422)) == {"query:q"}


# --- units ------------------------------------------------------------------------------------------------


WEIRD_UNITS = [
    "g; DROP TABLE items",
    "g**1000000",
    "g^1000000",
    "9**9**9",
    "g**9**9**9",
    "",
    "   ",
    "meter/second/",
    "__import__('os')",
    "2*g",
    "g/0",
    "1e400*g",
    "furlong_per_fortnight_squared",
    "g\u0000",
    "g" * 65,
    "((((((((((",
]


def test_weird_units_are_refused_quickly(api, lot):
    for unit in WEIRD_UNITS:
        _refuse_unit(api, lot, unit)
    assert [i["code"] for i in all_items(api)] == [lot]
    assert remaining(api, lot) == (25.0, "g")


def _refuse_unit(api, lot, unit):
    refused = problem_of(api.post("/lots", json={"type": "DMF", "quantity": {"value": 1, "unit": unit}}), 422)
    assert pointers(refused) == {"/quantity/unit"}
    body = step_body(
        SYNTHESIS,
        [{"role": "iron_source", "item": lot, "amount": {"value": 1, "unit": unit}}],
        {"type": "NH2-MIL-101(Fe)"},
        parameters={"temperature": {"value": 110, "unit": unit}},
    )
    refused = problem_of(api.post("/steps", json=body), 422)
    assert "/inputs/0/amount/unit" in pointers(refused)
    # A unit pydantic already refuses (empty, too long) is reported once per shape a parameter may take.
    assert pointers(refused) - {"/inputs/0/amount/unit"} <= {
        "/parameters/temperature/unit",
        "/parameters/temperature/Quantity/unit",
        "/parameters/temperature/bool",
        "/parameters/temperature/float",
        "/parameters/temperature/constrained-str",
    }
    assert any(p.startswith("/parameters/temperature") for p in pointers(refused))


def test_ordinary_units_still_work(api, lot):
    for unit in ("mL", "µL", "m**3", "cm^3", "L"):
        assert receive(api, "DMF", f"1 {unit}")["quantity"]["unit"] == unit
    for n, amount in enumerate(["2750 mg", "2.75e6 µg", "0.00275 kg", "2.75 g"], start=1):
        body = step_body(SYNTHESIS, [used("iron_source", lot, amount)], {"type": "NH2-MIL-101(Fe)"})
        body["parameters"] = {
            "loading": {"value": 11.05, "unit": "mg/cm**2"},
            "rate": {"value": 170, "unit": "mA/g"},
            "ramp": {"value": 2, "unit": "K/min"},
            "per": {"value": 3, "unit": "1/h"},
        }
        assert api.post("/steps", json=body).status_code == 201, amount
        assert remaining(api, lot) == (pytest.approx(25 - 2.75 * n), "g")


# --- routes and methods -----------------------------------------------------------------------------------


def test_unknown_routes_are_404_problems(api):
    for method, path in [
        ("GET", "/nothing-here"),
        ("GET", "/items/FECL-0001/nothing"),
        ("POST", "/items/FECL-0001/unvoid"),
        ("GET", "/steps/1/inputs"),
        ("DELETE", "/does/not/exist"),
    ]:
        problem_of(api.request(method, path), 404)


def test_nothing_is_deleted_or_replaced(api, lot):
    for method, path in [("DELETE", f"/items/{lot}"), ("PUT", "/lots"), ("DELETE", "/steps/1")]:
        problem_of(api.request(method, path), 405)
    assert item(api, lot)["status"] == "released"


def test_an_unknown_item_code_of_any_shape_is_404(api):
    for code in ("NOPE-0001", "🧪", "a" * 300, "..", "%2e%2e", "FECL-0001'; --"):
        assert api.get(f"/items/{code}").status_code == 404
        assert api.get(f"/items/{code}/lineage").status_code == 404
