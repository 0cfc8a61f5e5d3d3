"""Steps through the API: the reference synthesis, inventory across units, refusals, listing, voids."""

import pytest

from tests.lab import (
    COATING,
    IMPREGNATION,
    SYNTHESIS,
    all_items,
    item,
    log,
    made,
    pointers,
    problem_of,
    publish_bench,
    receive,
    remaining,
    state,
    step_body,
    used,
)


@pytest.fixture(autouse=True)
def _bench(admin):
    publish_bench(admin, SYNTHESIS, IMPREGNATION, COATING)


MOF = {"type": "NH2-MIL-101(Fe)"}


@pytest.fixture
def lots(api):
    """The reagents of the NH2-MIL-101(Fe) synthesis, as received."""
    return {
        "fecl": receive(api, "FeCl3·6H2O", "25 g", supplier="Sigma-Aldrich")["code"],
        "linker": receive(api, "2-aminoterephthalic acid", "10 g")["code"],
        "dmf": receive(api, "DMF", "1 L")["code"],
        "ethanol": receive(api, "ethanol", "2.5 L")["code"],
    }


def _synthesis(lots, fecl="2.75 g", linker="1.105 g", dmf_a="40 mL", dmf_b="40 mL", **fields):
    """The reference synthesis: solution A (FeCl3·6H2O in DMF), solution B (linker in DMF), ethanol wash."""
    return step_body(
        SYNTHESIS,
        [
            used("iron_source", lots["fecl"], fecl),
            used("linker", lots["linker"], linker),
            used("solvent_a", lots["dmf"], dmf_a),
            used("solvent_b", lots["dmf"], dmf_b),
            used("wash", lots["ethanol"], "0.1 L"),
        ],
        {"type": "NH2-MIL-101(Fe)", "quantity": "0.82 g", "properties": {"colour": "brown"}},
        parameters={
            "temperature": {"value": 110, "unit": "degC"},
            "duration": {"value": 24, "unit": "h"},
            "sonication": "15 min each, B added slowly to A",
        },
        started_at="2025-03-03T09:00:00Z",
        ended_at="2025-03-04T09:00:00Z",
        **fields,
    )


def _remaining_of(api, lots):
    return {name: remaining(api, code) for name, code in lots.items()}


REFERENCE = "nh2-mil-101-fe-hydrothermal@1"


def _reference(lots, fecl="2.75 g"):
    """The reference synthesis under its library template: solutions A and B take 2 × 40 mL of DMF, the
    same DMF lot washes the powder, then ethanol does."""
    return step_body(
        REFERENCE,
        [
            used("iron_source", lots["fecl"], fecl),
            used("linker", lots["linker"], "1.105 g"),
            used("solvent", lots["dmf"], "80 mL"),
            used("wash_solvent", lots["dmf"], "30 mL"),
            used("wash_solvent", lots["ethanol"], "0.05 L"),
        ],
        {"type": "NH2-MIL-101(Fe)", "quantity": "0.82 g"},
        parameters={
            "temperature": {"value": 110, "unit": "degC"},
            "duration": {"value": 24, "unit": "h"},
            "drying_temperature": {"value": 60, "unit": "degC"},
            "drying_time": {"value": 720, "unit": "min"},
            "centrifuge_speed": {"value": 10000, "unit": "rpm"},
        },
        started_at="2025-03-03T09:00:00Z",
        ended_at="2025-03-04T09:00:00Z",
    )


@pytest.mark.parametrize("fecl", ["2.75 g", "2750 mg"])
def test_the_reference_synthesis_is_logged_and_consumes_its_inputs(api, lots, fecl):
    response = api.post("/steps", json=_reference(lots, fecl))
    assert response.status_code == 201, response.text
    step = response.json()
    assert step["protocol"] == REFERENCE and step["status"] == "recorded" and step["operator"] == "sam"
    assert [(i["role"], i["item"]["code"]) for i in step["inputs"]] == [
        ("iron_source", lots["fecl"]),
        ("linker", lots["linker"]),
        ("solvent", lots["dmf"]),
        ("wash_solvent", lots["dmf"]),
        ("wash_solvent", lots["ethanol"]),
    ]
    assert step["inputs"][0]["amount"]["unit"] == fecl.split()[1]
    assert step["parameters"]["temperature"] == {"value": 110.0, "unit": "degC"}
    assert step["started_at"].startswith("2025-03-03T09:00:00")

    [mof] = step["outputs"]
    assert mof["code"] == "MOF-0001" and mof["kind"] == "batch" and mof["status"] == "released"
    batch = item(api, "MOF-0001")
    assert batch["produced_by"] == step["id"]
    assert batch["quantity"] == batch["remaining"] == {"value": 0.82, "unit": "g"}

    left = _remaining_of(api, lots)
    assert left["fecl"] == (pytest.approx(22.25), "g")
    assert left["linker"] == (pytest.approx(8.895), "g")
    assert left["dmf"] == (pytest.approx(0.89), "L"), "the same lot in two roles: 80 mL + 30 mL"
    assert left["ethanol"] == (pytest.approx(2.45), "L")
    assert state(api.get(f"/steps/{step['id']}").json()) == state(step)


def test_the_reference_template_refuses_an_off_recipe_synthesis_and_nothing_changes(api, lots):
    before = _remaining_of(api, lots)
    refused = problem_of(api.post("/steps", json=_reference(lots, fecl="3.5 g")), 422)
    assert "/inputs/0/amount" in pointers(refused)
    assert _remaining_of(api, lots) == before
    assert api.get("/steps").json()["items"] == []


def test_the_same_amount_in_any_unit_takes_the_same_off(api, lots):
    for n, fecl in enumerate(["2750 mg", "0.00275 kg", "2750000 µg", "2.75 g"], start=1):
        log(api, SYNTHESIS, [used("iron_source", lots["fecl"], fecl)], MOF)
        assert remaining(api, lots["fecl"]) == (pytest.approx(25 - 2.75 * n), "g"), fecl


def test_a_lot_used_in_several_roles_and_steps_adds_up(api, lots):
    log(
        api,
        SYNTHESIS,
        [used("solvent_a", lots["dmf"], "40 mL"), used("solvent_b", lots["dmf"], "0.04 L")],
        MOF,
    )
    log(api, SYNTHESIS, [used("wash", lots["dmf"], "120 mL")], MOF)
    assert remaining(api, lots["dmf"]) == (pytest.approx(0.8), "L")
    assert item(api, lots["dmf"])["status"] == "released"


def test_inputs_without_an_amount_are_linked_but_take_nothing(api, lots):
    step = log(api, SYNTHESIS, [used("iron_source", lots["fecl"])], MOF)
    assert step["inputs"][0]["amount"] is None
    assert remaining(api, lots["fecl"]) == (25.0, "g")


def test_over_consumption_lists_every_input_short_and_changes_nothing(api, lots):
    before = {code: item(api, code) for code in lots.values()}
    response = api.post(
        "/steps", json=_synthesis(lots, fecl="30 g", linker="1.105 g", dmf_a="0.6 L", dmf_b="500 mL")
    )
    refused = problem_of(response, 409)
    # FeCl3: 30 g of 25 g; DMF: 0.6 L + 0.5 L of 1 L, reported on both roles that take it.
    assert pointers(refused) == {"/inputs/0/amount", "/inputs/2/amount", "/inputs/3/amount"}
    assert {code: item(api, code) for code in lots.values()} == before
    assert api.get("/steps").json()["items"] == []
    assert all_items(api, kind="batch") == []


def test_using_up_a_lot_exactly_leaves_it_consumed_and_it_cannot_be_used_again(api, lots):
    log(api, SYNTHESIS, [used("iron_source", lots["fecl"], "20 g")], MOF)
    log(api, SYNTHESIS, [used("iron_source", lots["fecl"], "5000 mg")], MOF)
    used_up = item(api, lots["fecl"])
    assert used_up["status"] == "consumed" and used_up["remaining"]["value"] == pytest.approx(0)

    again = problem_of(
        api.post("/steps", json=step_body(SYNTHESIS, [used("iron_source", lots["fecl"], "1 mg")], MOF)), 409
    )
    assert pointers(again) == {"/inputs/0/item"}
    # Even without an amount: a used-up lot is not an input any more.
    problem_of(api.post("/steps", json=step_body(SYNTHESIS, [used("iron_source", lots["fecl"])], MOF)), 409)
    assert [b["code"] for b in all_items(api, kind="batch")] == ["MOF-0002", "MOF-0001"]


def test_a_voided_input_is_refused(api, lots):
    api.post(f"/items/{lots['linker']}/void", json={"reason": "wrong bottle"})
    refused = problem_of(api.post("/steps", json=_synthesis(lots)), 409)
    assert pointers(refused) == {"/inputs/1/item"}
    assert remaining(api, lots["fecl"]) == (25.0, "g")
    assert all_items(api, kind="batch") == []


def test_unknown_items_and_types_are_all_listed_at_once(api, lots):
    body = step_body(
        SYNTHESIS,
        [
            used("iron_source", lots["fecl"], "2.75 g"),
            used("linker", "ATA-9999", "1.105 g"),
            used("solvent", "DMF-0404", "80 mL"),
        ],
        {"type": "NH2-MIL-101(Fe)"},
        {"type": "unobtainium"},
    )
    refused = problem_of(api.post("/steps", json=body), 422)
    assert pointers(refused) == {"/inputs/1/item", "/inputs/2/item", "/outputs/1/type"}
    got = {e["pointer"]: e.get("got") for e in refused["errors"]}
    assert got["/inputs/1/item"] == "ATA-9999"
    assert remaining(api, lots["fecl"]) == (25.0, "g")


def test_an_amount_measuring_something_else_names_its_unit(api, lots):
    body = step_body(
        SYNTHESIS,
        [used("iron_source", lots["fecl"], "2.75 mL"), used("solvent", lots["dmf"], "80 g")],
        MOF,
    )
    refused = problem_of(api.post("/steps", json=body), 422)
    assert pointers(refused) == {"/inputs/0/amount/unit", "/inputs/1/amount/unit"}
    assert remaining(api, lots["fecl"]) == (25.0, "g")


def test_an_amount_that_is_not_a_usable_quantity_is_refused(api, lots):
    for amount, where in [
        ("0 g", "/inputs/0/amount/value"),
        ("-1 g", "/inputs/0/amount/value"),
        ("2 zorkmids", "/inputs/0/amount/unit"),
    ]:
        body = step_body(SYNTHESIS, [used("iron_source", lots["fecl"], amount)], MOF)
        assert pointers(problem_of(api.post("/steps", json=body), 422)) == {where}, amount
    assert remaining(api, lots["fecl"]) == (25.0, "g")


def test_a_lot_type_cannot_be_an_output(api, lots):
    body = step_body(SYNTHESIS, [used("iron_source", lots["fecl"], "2.75 g")], {"type": "DMF"})
    assert pointers(problem_of(api.post("/steps", json=body), 422)) == {"/outputs/0/type"}
    assert remaining(api, lots["fecl"]) == (25.0, "g")


def test_outputs_with_a_count_get_one_code_each(api):
    li = receive(api, "Li foil disc", "20 count")["code"]
    solution = receive(api, "THF", "10 mL")["code"]  # stands in for the coating solution here
    step = log(
        api,
        COATING,
        [used("coating", solution, "200 µL"), used("substrate", li, "4 count")],
        {"type": "MOF@CoPc/Li anode", "count": 4, "properties": {"drop_volume": "50 µL"}},
    )
    assert made(step) == ["ACL-0001", "ACL-0002", "ACL-0003", "ACL-0004"]
    assert {item(api, code)["properties"]["drop_volume"] for code in made(step)} == {"50 µL"}
    assert remaining(api, li) == (16.0, "count")
    assert remaining(api, solution) == (pytest.approx(9.8), "mL")


def test_an_output_with_a_given_code_keeps_it_and_a_taken_code_is_refused(api, lots):
    step = log(api, SYNTHESIS, [used("iron_source", lots["fecl"], "1 g")], {**MOF, "code": "MOF-SPECIAL"})
    assert made(step) == ["MOF-SPECIAL"]
    body = step_body(SYNTHESIS, [used("iron_source", lots["fecl"], "1 g")], {**MOF, "code": "MOF-SPECIAL"})
    assert pointers(problem_of(api.post("/steps", json=body), 422)) == {"/outputs/0/code"}
    assert remaining(api, lots["fecl"]) == (24.0, "g")


def test_a_code_given_to_several_outputs_is_refused(api, lots):
    count = {**MOF, "code": "MOF-X", "count": 2}
    assert problem_of(api.post("/steps", json=step_body(SYNTHESIS, [], count)), 422)["errors"]
    twice = step_body(
        SYNTHESIS,
        [used("iron_source", lots["fecl"], "1 g")],
        {**MOF, "code": "MOF-X"},
        {**MOF, "code": "MOF-X"},
    )
    assert pointers(problem_of(api.post("/steps", json=twice), 422)) == {"/outputs/1/code"}
    assert all_items(api, kind="batch") == []
    assert remaining(api, lots["fecl"]) == (25.0, "g")


def test_the_protocol_must_be_a_published_name_at_version(api):
    for protocol in [
        "bench-synthesis@9",
        "no-such-protocol@1",
        "synthesis",
        "synthesis@",
        "synthesis@0",
        "Synthesis@1",
        "a b@1",
        "@1",
        "x@v2",
    ]:
        refused = problem_of(api.post("/steps", json=step_body(protocol, [], MOF)), 422)
        assert pointers(refused) == {"/protocol"}, protocol
    assert api.get("/steps").json()["items"] == []


def test_a_step_that_ends_before_it_starts_is_refused(api, lots):
    body = _synthesis(lots)
    body["started_at"], body["ended_at"] = body["ended_at"], body["started_at"]
    refused = problem_of(api.post("/steps", json=body), 422)
    assert any("ended_at" in e["detail"] for e in refused["errors"])
    assert remaining(api, lots["fecl"]) == (25.0, "g")


def test_a_step_makes_at_least_one_output(api, lots):
    refused = problem_of(
        api.post("/steps", json=step_body(SYNTHESIS, [used("iron_source", lots["fecl"], "1 g")])), 422
    )
    assert pointers(refused) == {"/outputs"}


# --- reading and listing ------------------------------------------------------------------------------------


def test_an_unknown_step_is_not_found(api):
    problem_of(api.get("/steps/999999"), 404)
    problem_of(api.post("/steps/999999/void", json={"reason": "typo"}), 404)
    problem_of(api.get("/steps/not-a-number"), 422)


@pytest.fixture
def logged(api, admin, lots):
    """Three syntheses (two of protocol version 1, one of version 2) and an impregnation of the first MOF."""
    s1 = log(api, SYNTHESIS, [used("iron_source", lots["fecl"], "2.75 g")], MOF)
    s2 = log(
        api,
        SYNTHESIS,
        [used("iron_source", lots["fecl"], "2.75 g"), used("solvent", lots["dmf"], "80 mL")],
        MOF,
    )
    publish_bench(admin, "bench-synthesis@2")
    s3 = log(api, "bench-synthesis@2", [used("solvent", lots["dmf"], "80 mL")], MOF)
    copc = receive(api, "CoPc", "1 g")["code"]
    s4 = log(
        api,
        IMPREGNATION,
        [
            used("mof", made(s1)[0], "60 mg"),
            used("copc", copc, "5 mg"),
            used("solvent", lots["dmf"], "40 mL"),
        ],
        {"type": "MOF@CoPc"},
    )
    return [s1, s2, s3, s4]


def _ids(api, **params):
    found, cursor = [], None
    while True:
        response = api.get("/steps", params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        found += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def test_list_steps_filters_by_protocol_item_and_status(api, lots, logged):
    s1, s2, s3, s4 = (s["id"] for s in logged)
    assert _ids(api) == [s4, s3, s2, s1]
    assert _ids(api, protocol=SYNTHESIS) == [s2, s1]
    assert _ids(api, protocol="bench-synthesis") == [s3, s2, s1]
    assert _ids(api, protocol="bench-synth") == []
    assert _ids(api, protocol=IMPREGNATION) == [s4]
    assert _ids(api, item=lots["dmf"]) == [s4, s3, s2]
    assert _ids(api, item=lots["fecl"]) == [s2, s1]
    assert _ids(api, item=made(logged[0])[0]) == [s4, s1], "the step that made it and the one that used it"
    assert _ids(api, operator="sam") == [s4, s3, s2, s1]
    assert _ids(api, operator="ada") == []
    assert api.post(f"/steps/{s3}/void", json={"reason": "logged twice"}).status_code == 200
    assert _ids(api, status="voided") == [s3]
    assert _ids(api, status="recorded") == [s4, s2, s1]
    problem_of(api.get("/steps", params={"item": "NOPE-1"}), 404)


def test_list_steps_pages_without_gaps_or_repeats(api, logged):
    everything = [s["id"] for s in reversed(logged)]
    for limit in (1, 2, 3):
        assert _ids(api, limit=limit) == everything


# --- voiding steps ------------------------------------------------------------------------------------------


def test_voiding_a_step_voids_its_outputs_and_puts_back_what_it_used(api, lots):
    step = log(
        api,
        SYNTHESIS,
        [used("iron_source", lots["fecl"], "25 g"), used("solvent", lots["dmf"], "80 mL")],
        {**MOF, "count": 2},
    )
    assert item(api, lots["fecl"])["status"] == "consumed"
    response = api.post(f"/steps/{step['id']}/void", json={"reason": "wrong protocol logged"})
    assert response.status_code == 200, response.text
    voided = response.json()
    assert voided["status"] == "voided" and voided["void_reason"] == "wrong protocol logged"
    assert api.get(f"/steps/{step['id']}").json()["status"] == "voided"

    for code in made(step):
        assert item(api, code)["status"] == "voided"
    fecl = item(api, lots["fecl"])
    assert fecl["status"] == "released" and fecl["remaining"] == {"value": 25.0, "unit": "g"}
    assert remaining(api, lots["dmf"]) == (pytest.approx(1.0), "L")
    assert api.get(f"/items/{lots['fecl']}/lineage", params={"direction": "down"}).json()["nodes"] == [
        {
            "code": lots["fecl"],
            "kind": "lot",
            "type": "FeCl3·6H2O",
            "name": None,
            "status": "released",
            "depth": 0,
        }
    ]
    assert [n["code"] for n in api.get(f"/items/{made(step)[0]}/lineage").json()["nodes"]] == [made(step)[0]]
    assert "restored" in [v["action"] for v in api.get(f"/items/{lots['fecl']}/history").json()]
    # The record stays, and voiding twice is refused.
    problem_of(api.post(f"/steps/{step['id']}/void", json={"reason": "again"}), 409)
    assert remaining(api, lots["fecl"]) == (25.0, "g")


def test_a_step_whose_output_is_used_later_cannot_be_voided(api, lots, logged):
    s1, s4 = logged[0], logged[3]
    refused = problem_of(api.post(f"/steps/{s1['id']}/void", json={"reason": "mistake"}), 409)
    assert any(f"step {s4['id']}" in e["detail"] for e in refused["errors"])
    assert api.get(f"/steps/{s1['id']}").json()["status"] == "recorded"
    # Void the later step first, then the earlier one goes.
    assert api.post(f"/steps/{s4['id']}/void", json={"reason": "mistake"}).status_code == 200
    assert api.post(f"/steps/{s1['id']}/void", json={"reason": "mistake"}).status_code == 200
    assert remaining(api, lots["fecl"]) == (pytest.approx(22.25), "g")


def test_a_void_needs_a_reason(api, logged):
    refused = problem_of(api.post(f"/steps/{logged[0]['id']}/void", json={"reason": "x"}), 422)
    assert pointers(refused) == {"/reason"}
    assert api.get(f"/steps/{logged[0]['id']}").json()["status"] == "recorded"
