"""Items through the API: item types, receiving lots, listing, corrections with If-Match, voids, history."""

import pytest

from schemas import Role
from tests.lab import (
    SYNTHESIS,
    all_items,
    item,
    log,
    made,
    pointers,
    problem_of,
    publish_bench,
    receive,
    state,
    used,
)


@pytest.fixture(autouse=True)
def _bench(admin):
    publish_bench(admin, SYNTHESIS)


# --- item types ---------------------------------------------------------------------------------------------


def test_the_builtin_item_types_are_listed(api):
    response = api.get("/item-types")
    assert response.status_code == 200
    by_name = {t["name"]: t for t in response.json()}
    assert by_name["FeCl3·6H2O"] == {
        "name": "FeCl3·6H2O",
        "kind": "lot",
        "prefix": "FECL",
        "description": "Iron(III) chloride hexahydrate, M = 270.30 g/mol",
    }
    assert by_name["MOF@CoPc"]["kind"] == "batch"
    assert by_name["CR2025 coin cell"]["kind"] == "cell"


def test_an_admin_adds_an_item_type_and_lots_of_it_get_its_prefix(admin, api):
    new = {"name": "LiNO3", "kind": "lot", "prefix": "LNO", "description": "Lithium nitrate additive"}
    response = admin.post("/item-types", json=new)
    assert response.status_code == 201, response.text
    assert response.json() == new
    assert new in api.get("/item-types").json()
    assert receive(api, "LiNO3", "10 g")["code"] == "LNO-0001"


def test_an_item_type_clashing_by_name_or_prefix_is_refused(admin):
    clash = problem_of(admin.post("/item-types", json={"name": "DMF", "kind": "lot", "prefix": "DMFX"}), 409)
    assert pointers(clash) == {"/name"}
    clash = problem_of(admin.post("/item-types", json={"name": "DMF2", "kind": "lot", "prefix": "DMF"}), 409)
    assert pointers(clash) == {"/prefix"}
    both = problem_of(admin.post("/item-types", json={"name": "DMF", "kind": "lot", "prefix": "DMF"}), 409)
    assert pointers(both) == {"/name", "/prefix"}


def test_a_scientist_may_not_add_item_types(api):
    problem_of(api.post("/item-types", json={"name": "LiNO3", "kind": "lot", "prefix": "LNO"}), 403)
    assert "LiNO3" not in {t["name"] for t in api.get("/item-types").json()}


def test_an_item_type_with_a_bad_prefix_or_kind_is_refused(admin):
    bad = problem_of(admin.post("/item-types", json={"name": "x", "kind": "reagent", "prefix": "lower"}), 422)
    assert pointers(bad) == {"/kind", "/prefix"}


# --- receiving lots -----------------------------------------------------------------------------------------


def test_generated_codes_count_up_per_type(api):
    codes = [receive(api, "FeCl3·6H2O", "25 g")["code"] for _ in range(3)]
    assert codes == ["FECL-0001", "FECL-0002", "FECL-0003"]
    assert receive(api, "DMF", "1 L")["code"] == "DMF-0001"
    assert receive(api, "FeCl3·6H2O", "25 g")["code"] == "FECL-0004"


def test_a_received_lot_keeps_what_was_entered(api):
    lot = receive(
        api,
        "FeCl3·6H2O",
        "25 g",
        supplier="Sigma-Aldrich",
        catalog_number="236489",
        supplier_lot="MKCD1234",
        received_on="2025-03-01",
        expires_on="2027-03-01",
        properties={"purity": "97 %"},
    )
    assert lot["kind"] == "lot" and lot["type"] == "FeCl3·6H2O" and lot["status"] == "released"
    assert lot["quantity"] == lot["remaining"] == {"value": 25.0, "unit": "g"}
    assert lot["version"] == 1 and lot["created_by"] == "sam"
    assert (lot["supplier"], lot["catalog_number"], lot["supplier_lot"]) == (
        "Sigma-Aldrich",
        "236489",
        "MKCD1234",
    )
    assert (lot["received_on"], lot["expires_on"]) == ("2025-03-01", "2027-03-01")
    assert lot["properties"] == {"purity": "97 %"}
    assert item(api, lot["code"]) == lot


def test_a_given_code_is_kept_and_generated_codes_step_over_it(api):
    assert receive(api, "DMF", "1 L", code="DMF-0002")["code"] == "DMF-0002"
    assert receive(api, "DMF", "1 L")["code"] == "DMF-0001"
    assert receive(api, "DMF", "1 L")["code"] == "DMF-0003"


def test_a_code_already_taken_is_a_conflict(api):
    receive(api, "DMF", "1 L", code="SOLV-1")
    taken = problem_of(api.post("/lots", json={"type": "THF", "quantity": "1 L", "code": "SOLV-1"}), 409)
    assert pointers(taken) == {"/code"}
    assert item(api, "SOLV-1")["type"] == "DMF"


UNRECEIVABLE = [
    ({"type": "unobtainium", "quantity": "1 g"}, {"/type"}),
    ({"type": "NH2-MIL-101(Fe)", "quantity": "1 g"}, {"/type"}),
    ({"type": "CR2025 coin cell", "quantity": "1 count"}, {"/type"}),
    ({"type": "DMF", "quantity": "1 furlongs_per_fortnight_squared"}, {"/quantity/unit"}),
    ({"type": "DMF", "quantity": {"value": 0, "unit": "mL"}}, {"/quantity/value"}),
    ({"type": "DMF", "quantity": {"value": -5, "unit": "mL"}}, {"/quantity/value"}),
    (
        {"type": "DMF", "quantity": "1 L", "received_on": "2025-03-01", "expires_on": "2025-02-28"},
        {"/expires_on"},
    ),
    ({"type": "DMF", "quantity": "1 L", "code": "has space"}, {"/code"}),
    ({"type": "DMF"}, {"/quantity"}),
]


def test_a_lot_that_cannot_be_received_is_refused_and_nothing_is_made(api):
    for lot, where in UNRECEIVABLE:
        refused = problem_of(api.post("/lots", json=lot), 422)
        assert pointers(refused) == where, lot
    assert all_items(api) == []


def test_every_problem_of_a_lot_is_listed_at_once(api):
    refused = problem_of(
        api.post(
            "/lots",
            json={
                "type": "NH2-MIL-101(Fe)",
                "quantity": "3 parsecs_of_stuff",
                "received_on": "2025-03-01",
                "expires_on": "2024-03-01",
            },
        ),
        422,
    )
    assert pointers(refused) == {"/type", "/quantity/unit", "/expires_on"}


# --- reading and listing ------------------------------------------------------------------------------------


def test_get_an_item_carries_its_version_as_etag(api):
    code = receive(api, "DMF", "1 L")["code"]
    response = api.get(f"/items/{code}")
    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    problem_of(api.get("/items/NOPE-0001"), 404)


def test_every_role_reads_items(as_role, api):
    code = receive(api, "DMF", "1 L")["code"]
    for client in as_role.values():
        assert client.get(f"/items/{code}").status_code == 200


@pytest.fixture
def stocked(api):
    """Five FeCl3 lots, three DMF lots (one voided), two MOF batches made from them."""
    fecl = [receive(api, "FeCl3·6H2O", "25 g", supplier_lot=f"MK{n}")["code"] for n in range(5)]
    dmf = [receive(api, "DMF", "1 L", name=f"DMF bottle {n}")["code"] for n in range(3)]
    api.post(f"/items/{dmf[2]}/void", json={"reason": "bottle broke on arrival"})
    step = log(
        api,
        SYNTHESIS,
        [used("iron_source", fecl[0], "2.75 g"), used("solvent", dmf[0], "80 mL")],
        {"type": "NH2-MIL-101(Fe)", "count": 2},
    )
    return {"fecl": fecl, "dmf": dmf, "mof": made(step)}


def _codes(items):
    return [i["code"] for i in items]


def test_list_filters_by_kind_type_status_and_text(api, stocked):
    assert set(_codes(all_items(api, kind="batch"))) == set(stocked["mof"])
    assert set(_codes(all_items(api, kind="lot"))) == set(stocked["fecl"] + stocked["dmf"])
    assert set(_codes(all_items(api, type="DMF"))) == set(stocked["dmf"])
    assert _codes(all_items(api, status="voided")) == [stocked["dmf"][2]]
    assert set(_codes(all_items(api, type="DMF", status="released"))) == set(stocked["dmf"][:2])
    assert all_items(api, kind="cell") == []
    assert _codes(all_items(api, q="MK3")) == [stocked["fecl"][3]]
    assert _codes(all_items(api, q="bottle 1")) == [stocked["dmf"][1]]
    assert set(_codes(all_items(api, q="fecl"))) == set(stocked["fecl"])
    # LIKE wildcards in q are taken literally.
    assert all_items(api, q="%") == [] and all_items(api, q="_") == []
    assert all_items(api, type="no such type") == []


def test_list_is_newest_first_and_the_cursor_walks_every_item_once(api, stocked):
    everything = stocked["fecl"] + stocked["dmf"] + stocked["mof"]
    for limit in (1, 3, 4, 100):
        pages, cursor = [], None
        while True:
            params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
            page = api.get("/items", params=params).json()
            assert len(page["items"]) <= limit
            pages.append(_codes(page["items"]))
            cursor = page["next_cursor"]
            if cursor is None:
                break
        walked = [code for page in pages for code in page]
        assert walked == list(reversed(everything)), limit
        assert all(pages), "no empty page before the end"


def test_the_cursor_keeps_the_filters(api, stocked):
    assert set(_codes(all_items(api, type="FeCl3·6H2O", limit=2))) == set(stocked["fecl"])


# --- corrections --------------------------------------------------------------------------------------------


def _patch(api, code, etag, **changes):
    return api.patch(f"/items/{code}", json=changes, headers={"If-Match": etag} if etag else {})


def test_a_correction_without_if_match_is_refused(api):
    code = receive(api, "DMF", "1 L", supplier="Sigma")["code"]
    refused = problem_of(_patch(api, code, None, reason="supplier typo", supplier="Merck"), 428)
    assert pointers(refused) == {"header:If-Match"}
    assert item(api, code)["supplier"] == "Sigma"


def test_a_correction_of_a_version_that_is_not_the_latest_is_refused(api):
    code = receive(api, "DMF", "1 L", supplier="Sigma")["code"]
    assert _patch(api, code, '"1"', reason="supplier typo", supplier="Merck").status_code == 200
    stale = problem_of(_patch(api, code, '"1"', reason="another fix", supplier="VWR"), 412)
    assert pointers(stale) == {"header:If-Match"}
    assert item(api, code)["supplier"] == "Merck"


def test_a_correction_makes_a_new_version_with_its_reason(api):
    code = receive(api, "DMF", "1 L", supplier="Sigma", name="DMF anhydrous")["code"]
    response = _patch(api, code, '"1"', reason="supplier typo", supplier="Merck")
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    corrected = response.json()
    assert corrected["version"] == 2 and corrected["supplier"] == "Merck"
    assert corrected["name"] == "DMF anhydrous", "fields not given are kept"
    assert api.get(f"/items/{code}").headers["ETag"] == '"2"'
    assert _patch(api, code, 'W/"2"', reason="name", name="DMF, 99.8 %").json()["version"] == 3


def test_properties_are_merged_and_null_removes_a_key(api):
    code = receive(api, "DMF", "1 L", properties={"purity": "99.8 %", "water": "50 ppm", "grade": "HPLC"})[
        "code"
    ]
    response = _patch(
        api,
        code,
        '"1"',
        reason="certificate arrived",
        properties={"water": "30 ppm", "grade": None, "cas": "68-12-2"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["properties"] == {"purity": "99.8 %", "water": "30 ppm", "cas": "68-12-2"}


def test_a_quantity_correction_in_another_unit_keeps_what_was_used(api):
    code = receive(api, "FeCl3·6H2O", "10 g")["code"]
    log(api, SYNTHESIS, [used("iron_source", code, "2 g")], {"type": "NH2-MIL-101(Fe)"})
    etag = api.get(f"/items/{code}").headers["ETag"]
    response = _patch(api, code, etag, reason="the balance was off", quantity="12000 mg")
    assert response.status_code == 200, response.text
    corrected = response.json()
    assert corrected["quantity"] == {"value": 12000.0, "unit": "mg"}
    assert corrected["remaining"]["unit"] == "mg"
    assert corrected["remaining"]["value"] == pytest.approx(10000.0)


def test_a_quantity_corrected_to_exactly_what_was_used_leaves_it_consumed(api):
    code = receive(api, "FeCl3·6H2O", "10 g")["code"]
    log(api, SYNTHESIS, [used("iron_source", code, "2 g")], {"type": "NH2-MIL-101(Fe)"})
    etag = api.get(f"/items/{code}").headers["ETag"]
    corrected = _patch(api, code, etag, reason="only 2 g were in the bottle", quantity="0.002 kg").json()
    assert corrected["status"] == "consumed" and corrected["remaining"]["value"] == pytest.approx(0)


def test_a_quantity_corrected_below_what_was_used_is_a_conflict(api):
    code = receive(api, "FeCl3·6H2O", "10 g")["code"]
    log(api, SYNTHESIS, [used("iron_source", code, "2 g")], {"type": "NH2-MIL-101(Fe)"})
    before = item(api, code)
    refused = problem_of(
        _patch(api, code, f'"{before["version"]}"', reason="recount", quantity="1500 mg"), 409
    )
    assert pointers(refused) == {"/quantity"}
    assert item(api, code) == before


def test_a_quantity_corrected_to_another_dimension_is_refused(api):
    code = receive(api, "FeCl3·6H2O", "10 g")["code"]
    refused = problem_of(_patch(api, code, '"1"', reason="typo", quantity="10 mL"), 422)
    assert pointers(refused) == {"/quantity/unit"}
    assert item(api, code)["quantity"] == {"value": 10.0, "unit": "g"}


INVALID_CORRECTIONS = [
    ({"reason": "typo", "colour": "blue"}, {"/colour"}),
    ({"reason": "typo"}, {"/"}),
    ({"reason": "no", "name": "x"}, {"/reason"}),
    ({"name": "x"}, {"/reason"}),
    ({"reason": "typo", "quantity": None}, {"/quantity"}),
    ({"reason": "typo", "quantity": "-1 g"}, {"/quantity/value"}),
    ({"reason": "typo", "received_on": "2030-01-01", "expires_on": "2029-01-01"}, {"/expires_on"}),
    ({"reason": "typo", "properties": {"": 1}}, {"/properties//[key]"}),
]


def test_a_correction_that_is_not_valid_is_refused(api):
    code = receive(api, "FeCl3·6H2O", "10 g")["code"]
    for patch, where in INVALID_CORRECTIONS:
        refused = problem_of(_patch(api, code, '"1"', **patch), 422)
        assert pointers(refused) == where, patch
    assert item(api, code)["version"] == 1


def test_lot_only_fields_cannot_be_set_on_a_batch(api):
    lot = receive(api, "FeCl3·6H2O", "10 g")["code"]
    batch = made(log(api, SYNTHESIS, [used("iron_source", lot, "2.75 g")], {"type": "NH2-MIL-101(Fe)"}))[0]
    refused = problem_of(
        _patch(api, batch, '"1"', reason="typo", supplier="Sigma", expires_on="2030-01-01"), 422
    )
    assert pointers(refused) == {"/supplier", "/expires_on"}
    assert _patch(api, batch, '"1"', reason="yield weighed", quantity="0.9 g").json()["quantity"] == {
        "value": 0.9,
        "unit": "g",
    }


def test_a_correction_of_an_unknown_item_is_not_found(api):
    problem_of(_patch(api, "NOPE-1", '"1"', reason="typo", name="x"), 404)


# --- voiding ------------------------------------------------------------------------------------------------


def test_void_needs_a_reason_of_three_characters_or_more(api):
    code = receive(api, "DMF", "1 L")["code"]
    assert pointers(problem_of(api.post(f"/items/{code}/void", json={}), 422)) == {"/reason"}
    assert pointers(problem_of(api.post(f"/items/{code}/void", json={"reason": "  x "}), 422)) == {"/reason"}
    assert item(api, code)["status"] == "released"


def test_a_voided_item_stays_readable_and_listed(api):
    code = receive(api, "DMF", "1 L")["code"]
    response = api.post(f"/items/{code}/void", json={"reason": "entered twice"})
    assert response.status_code == 200, response.text
    voided = state(response.json())
    assert (
        voided["status"] == "voided" and voided["void_reason"] == "entered twice" and voided["version"] == 2
    )
    assert item(api, code) == voided
    assert [i["code"] for i in all_items(api)] == [code]
    assert [i["status"] for i in all_items(api, status="voided")] == ["voided"]


def test_a_voided_item_is_neither_voided_again_nor_corrected(api):
    code = receive(api, "DMF", "1 L")["code"]
    api.post(f"/items/{code}/void", json={"reason": "entered twice"})
    problem_of(api.post(f"/items/{code}/void", json={"reason": "really"}), 409)
    problem_of(_patch(api, code, '"2"', reason="typo", name="x"), 409)
    assert item(api, code)["void_reason"] == "entered twice"
    assert len(api.get(f"/items/{code}/history").json()) == 2


def test_an_unknown_item_cannot_be_voided(api):
    problem_of(api.post("/items/NOPE-1/void", json={"reason": "typo"}), 404)


def test_a_reader_may_not_correct_or_void(as_role, api):
    code = receive(api, "DMF", "1 L")["code"]
    for role in (Role.reviewer, Role.auditor):
        client = as_role[role]
        problem_of(_patch(client, code, '"1"', reason="typo", name="x"), 403)
        problem_of(client.post(f"/items/{code}/void", json={"reason": "typo"}), 403)
    assert item(api, code)["version"] == 1


# --- history ------------------------------------------------------------------------------------------------


def test_history_lists_every_version_with_who_why_and_what_changed(api, admin):
    code = receive(api, "FeCl3·6H2O", "25 g", supplier="Sigma")["code"]
    log(api, SYNTHESIS, [used("iron_source", code, "2.75 g")], {"type": "NH2-MIL-101(Fe)"})
    _patch(admin, code, '"2"', reason="supplier typo", supplier="Merck")
    api.post(f"/items/{code}/void", json={"reason": "contaminated"})

    response = api.get(f"/items/{code}/history")
    assert response.status_code == 200
    versions = response.json()
    assert [(v["version"], v["action"], v["by"]) for v in versions] == [
        (1, "received", "sam"),
        (2, "consumed", "sam"),
        (3, "corrected", "ada"),
        (4, "voided", "sam"),
    ]
    assert [v["reason"] for v in versions[2:]] == ["supplier typo", "contaminated"]
    assert versions[0]["changes"] == {}
    assert versions[1]["changes"]["remaining"] == {
        "old": {"value": 25.0, "unit": "g"},
        "new": {"value": pytest.approx(22.25), "unit": "g"},
    }
    assert versions[2]["changes"] == {"supplier": {"old": "Sigma", "new": "Merck"}}
    assert versions[3]["changes"]["status"] == {"old": "released", "new": "voided"}
    assert versions[3]["changes"]["void_reason"] == {"old": None, "new": "contaminated"}
    assert versions[0]["state"]["supplier"] == "Sigma" and versions[-1]["state"]["status"] == "voided"
    assert state(versions[-1]["state"]) == item(api, code)


def test_history_of_an_unknown_item_is_not_found(api):
    problem_of(api.get("/items/NOPE-1/history"), 404)
