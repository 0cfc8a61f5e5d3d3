"""Retries are safe: a POST carrying an Idempotency-Key is applied once, and a retry gets the first answer."""

import pytest

from schemas import Role
from tests.lab import (
    SYNTHESIS,
    all_items,
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


LOT = {"type": "FeCl3·6H2O", "quantity": "25 g", "supplier": "Sigma-Aldrich"}


def _key(value):
    return {"Idempotency-Key": value}


def _steps(api):
    return api.get("/steps").json()["items"]


def test_a_lot_posted_twice_with_one_key_is_received_once(api):
    first = api.post("/lots", json=LOT, headers=_key("receive-fecl-1"))
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = api.post("/lots", json=LOT, headers=_key("receive-fecl-1"))
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["ETag"] == first.headers["ETag"] == '"1"'
    assert [i["code"] for i in all_items(api)] == ["FECL-0001"]
    # Without a key, the same body is a second lot.
    assert api.post("/lots", json=LOT).json()["code"] == "FECL-0002"


def test_the_same_content_written_differently_is_the_same_request(api):
    first = api.post("/lots", json=LOT, headers=_key("k"))
    spelled_out = {**LOT, "quantity": {"unit": "g", "value": 25}}
    again = api.post("/lots", json=dict(reversed(list(spelled_out.items()))), headers=_key("k"))
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert len(all_items(api)) == 1


def test_a_step_posted_twice_with_one_key_consumes_once(api):
    lot = receive(api, "FeCl3·6H2O", "25 g")["code"]
    body = step_body(SYNTHESIS, [used("iron_source", lot, "2.75 g")], {"type": "NH2-MIL-101(Fe)", "count": 2})
    first = api.post("/steps", json=body, headers=_key("synthesis-2025-03-03"))
    assert first.status_code == 201, first.text
    for _ in range(2):
        again = api.post("/steps", json=body, headers=_key("synthesis-2025-03-03"))
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
    assert [s["id"] for s in _steps(api)] == [first.json()["id"]]
    assert remaining(api, lot) == (pytest.approx(22.25), "g")
    assert [i["code"] for i in all_items(api, kind="batch")] == ["MOF-0002", "MOF-0001"]


def test_a_retry_is_answered_from_storage_even_when_the_state_moved_on(api):
    """The retry of a step that used up a lot gets its first answer, not "used up" from a fresh attempt."""
    lot = receive(api, "FeCl3·6H2O", "2.75 g")["code"]
    body = step_body(SYNTHESIS, [used("iron_source", lot, "2.75 g")], {"type": "NH2-MIL-101(Fe)"})
    first = api.post("/steps", json=body, headers=_key("use-it-all"))
    assert first.status_code == 201
    again = api.post("/steps", json=body, headers=_key("use-it-all"))
    assert again.status_code == 201 and again.json() == first.json()
    problem_of(api.post("/steps", json=body, headers=_key("a-new-attempt")), 409)


def test_a_key_reused_for_a_different_request_is_refused(api):
    lot = api.post("/lots", json=LOT, headers=_key("k1")).json()["code"]
    refused = problem_of(api.post("/lots", json={**LOT, "quantity": "50 g"}, headers=_key("k1")), 422)
    assert pointers(refused) == {"header:Idempotency-Key"}
    # The same key on another route is another request too.
    body = step_body(SYNTHESIS, [used("iron_source", lot, "1 g")], {"type": "NH2-MIL-101(Fe)"})
    problem_of(api.post("/steps", json=body, headers=_key("k1")), 422)
    assert [i["code"] for i in all_items(api)] == [lot]
    assert remaining(api, lot) == (25.0, "g")
    assert _steps(api) == []


def test_keys_belong_to_their_user(api, admin):
    mine = api.post("/lots", json=LOT, headers=_key("shared-key"))
    theirs = admin.post("/lots", json={**LOT, "quantity": "5 g"}, headers=_key("shared-key"))
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert (mine.json()["code"], theirs.json()["code"]) == ("FECL-0001", "FECL-0002")
    assert theirs.json()["created_by"] == "ada"
    # Each user's retry replays their own first answer.
    assert (
        admin.post("/lots", json={**LOT, "quantity": "5 g"}, headers=_key("shared-key")).json()
        == theirs.json()
    )
    assert api.post("/lots", json=LOT, headers=_key("shared-key")).json() == mine.json()
    assert len(all_items(api)) == 2


def test_a_refused_request_stores_nothing_so_the_corrected_retry_with_its_key_is_applied(api):
    lot = receive(api, "FeCl3·6H2O", "25 g")["code"]
    too_much = step_body(SYNTHESIS, [used("iron_source", lot, "30 g")], {"type": "NH2-MIL-101(Fe)"})
    problem_of(api.post("/steps", json=too_much, headers=_key("attempt")), 409)
    # The identical retry is evaluated again (and refused again), not replayed.
    problem_of(api.post("/steps", json=too_much, headers=_key("attempt")), 409)
    corrected = step_body(SYNTHESIS, [used("iron_source", lot, "25 g")], {"type": "NH2-MIL-101(Fe)"})
    applied = api.post("/steps", json=corrected, headers=_key("attempt"))
    assert applied.status_code == 201, applied.text
    assert "Idempotent-Replayed" not in applied.headers
    assert (
        api.post("/steps", json=corrected, headers=_key("attempt")).headers["Idempotent-Replayed"] == "true"
    )
    assert remaining(api, lot) == (0.0, "g")
    assert len(_steps(api)) == 1


def test_a_request_refused_for_its_body_stores_nothing_either(api):
    problem_of(api.post("/lots", json={**LOT, "type": "unobtainium"}, headers=_key("lot")), 422)
    problem_of(api.post("/lots", json={**LOT, "colour": "yellow"}, headers=_key("lot")), 422)
    assert api.post("/lots", json=LOT, headers=_key("lot")).status_code == 201
    assert len(all_items(api)) == 1


def test_an_empty_or_overlong_key_is_refused(api):
    for key in ["", "x" * 201]:
        refused = problem_of(api.post("/lots", json=LOT, headers=_key(key)), 422)
        assert pointers(refused) == {"header:Idempotency-Key"}
    assert all_items(api) == []


def test_voids_and_corrections_with_a_key_apply_once(api, as_role):
    code = receive(api, "DMF", "1 L")["code"]
    first = api.post(f"/items/{code}/void", json={"reason": "entered twice"}, headers=_key("void-dmf"))
    again = api.post(f"/items/{code}/void", json={"reason": "entered twice"}, headers=_key("void-dmf"))
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert len(api.get(f"/items/{code}/history").json()) == 2
    # A reader's key does not let them replay a recorder's write.
    problem_of(
        as_role[Role.auditor].post(
            f"/items/{code}/void", json={"reason": "entered twice"}, headers=_key("void-dmf")
        ),
        403,
    )
