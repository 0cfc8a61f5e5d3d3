"""The audit trail: one event per change, in the change's transaction, chained, guarded, verifiable."""

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from clients.audit_file import verify_export
from schemas import Role
from schemas.events import AuditEvent, ChainCheck, ChainVerifier
from tests.lab import SYNTHESIS, publish_bench

FECL = {"type": "FeCl3·6H2O", "quantity": "25 g", "supplier": "Sigma-Aldrich"}


def _synthesis(lot: str, grams: float) -> dict:
    return {
        "protocol": SYNTHESIS,
        "inputs": [{"role": "iron_source", "item": lot, "amount": {"value": grams, "unit": "g"}}],
        "outputs": [{"type": "NH2-MIL-101(Fe)"}],
    }


def _events(auditor, **params) -> list[dict]:
    response = auditor.get("/audit", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


@pytest.fixture(autouse=True)
def bench(admin):
    """A permissive protocol: these tests are about the trail, not about what a template demands."""
    publish_bench(admin, SYNTHESIS)


@pytest.fixture
def auditor(as_role):
    return as_role[Role.auditor]


@pytest.fixture
def history(api):
    """A lot received, used by a step, corrected and voided: four kinds of change."""
    lot = api.post("/lots", json=FECL).json()["code"]
    step = api.post("/steps", json=_synthesis(lot, 2.75)).json()
    etag = api.get(f"/items/{lot}").headers["ETag"]
    api.patch(
        f"/items/{lot}",
        json={"reason": "supplier name typo", "supplier": "Merck"},
        headers={"If-Match": etag},
    )
    api.post(f"/items/{step['outputs'][0]['code']}/void", json={"reason": "spilled while grinding"})
    return lot, step


def test_every_change_is_one_event_with_server_actor_time_and_reason(history, auditor):
    lot, step = history
    events = _events(auditor)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    by_action = {}
    for event in events:
        by_action.setdefault(event["action"], []).append(event)
    assert {
        "item.received",
        "item.consumed",
        "item.made",
        "step.logged",
        "item.corrected",
        "item.voided",
    } <= set(by_action)
    corrected = by_action["item.corrected"][0]
    assert corrected["actor_name"] == "sam" and corrected["actor_role"] == "scientist"
    assert corrected["entity_id"] == lot and corrected["reason"] == "supplier name typo"
    assert corrected["changes"]["supplier"] == {"old": "Sigma-Aldrich", "new": "Merck"}
    assert by_action["item.voided"][0]["reason"] == "spilled while grinding"
    assert by_action["step.logged"][0]["entity_id"] == str(step["id"])
    assert all(e["request_id"] for e in events)
    assert auditor.get("/audit/verify").json() == {
        "ok": True,
        "size": len(events),
        "head_hash": events[-1]["hash"],
        "first_bad_seq": None,
        "problem": None,
    }


def test_text_of_any_kind_verifies(api, auditor, tmp_path: Path):
    """Quotes, backslashes, tabs and characters beyond ASCII: the database quotes them in JSON as Python does,
    or verification finds out in Python; either way, an intact trail verifies."""
    supplier = 'Sigma «Fe·6H2O» \t "quoted" \\ back\\slash µL ✓'
    assert api.post("/lots", json={**FECL, "supplier": supplier}).status_code == 201
    assert auditor.get("/audit/verify").json()["ok"]
    path = tmp_path / "audit.jsonl"
    path.write_bytes(auditor.get("/audit/export").content)
    assert verify_export(path)[0].ok
    assert _events(auditor, action="item.received")[-1]["data"]["supplier"] == supplier


def test_a_refused_change_leaves_no_event(api, auditor):
    lot = api.post("/lots", json=FECL).json()["code"]
    before = len(_events(auditor))
    assert api.post("/steps", json=_synthesis(lot, 30)).status_code == 409
    assert api.post("/lots", json={**FECL, "quantity": "25 gramz"}).status_code == 422
    after = _events(auditor)
    assert len(after) == before
    assert auditor.get("/audit/verify").json()["ok"]


def test_the_client_cannot_choose_time_or_actor(api, auditor):
    response = api.post("/lots", json={**FECL, "at": "1999-01-01T00:00:00Z", "actor_name": "ada"})
    assert response.status_code == 422  # unknown fields are refused, not smuggled into the record


def test_tokens_issued_and_refused_are_events(anonymous, auditor, people):
    assert (
        anonymous.post(
            "/tokens", json={"username": "sam", "password": people[Role.scientist].password}
        ).status_code
        == 201
    )
    assert anonymous.post("/tokens", json={"username": "sam", "password": "guess"}).status_code == 401
    assert anonymous.get("/items", headers={"Authorization": "Bearer cp_stolen"}).status_code == 401
    actions = [(e["action"], e["entity_type"], e["entity_id"]) for e in _events(auditor)]
    assert ("token.issued", "token", "5") in actions  # four seeded tokens, then this one
    assert ("auth.failed", "user", "sam") in actions
    assert ("auth.failed", "route", "/api/v1/items") in actions
    assert "cp_stolen" not in str(_events(auditor))


def test_filters_and_lineage_of_an_item(history, api, auditor):
    lot, step = history
    other = api.post("/lots", json={"type": "DMF", "quantity": "1 L"}).json()["code"]
    assert {e["entity_id"] for e in _events(auditor, entity_type="item", entity_id=lot)} == {lot}
    assert {e["action"] for e in _events(auditor, action="item")} >= {"item.received", "item.corrected"}
    assert [e["action"] for e in _events(auditor, action="item.corrected")] == ["item.corrected"]
    assert _events(auditor, actor="rita") == []
    in_lineage = {
        (e["entity_type"], e["entity_id"]) for e in _events(auditor, lineage_of=step["outputs"][0]["code"])
    }
    assert ("item", lot) in in_lineage and ("step", str(step["id"])) in in_lineage
    assert ("item", other) not in in_lineage
    first_page = auditor.get("/audit", params={"limit": 2}).json()
    second_page = auditor.get("/audit", params={"limit": 2, "cursor": first_page["next_cursor"]}).json()
    assert [e["seq"] for e in first_page["items"] + second_page["items"]] == [1, 2, 3, 4]


def test_only_auditors_reviewers_and_admins_read_the_trail(as_role):
    assert as_role[Role.scientist].get("/audit").status_code == 403
    for role in (Role.auditor, Role.reviewer, Role.admin):
        assert as_role[role].get("/audit/verify").status_code == 200


def test_step_history(history, api):
    _, step = history
    api.post(f"/steps/{step['id']}/void", json={"reason": "logged against the wrong batch"})
    events = api.get(f"/steps/{step['id']}/history").json()
    assert [e["action"] for e in events] == ["step.logged", "step.voided"]
    assert events[1]["reason"] == "logged against the wrong batch"
    assert api.get("/steps/999/history").status_code == 404


# --- the database refuses to change the trail -------------------------------------------------------------


def _refused(app, sql: str) -> bool:
    try:
        with app.state.engine.begin() as connection:
            connection.execute(text(sql))
    except DBAPIError as refused:
        return "append-only" in str(refused)
    return False


def test_the_table_refuses_update_delete_and_replace(history, app):
    assert _refused(app, "UPDATE audit_events SET reason = 'nothing happened' WHERE seq = 2")
    assert _refused(app, "DELETE FROM audit_events WHERE seq = 2")
    if app.state.engine.dialect.name == "postgresql":
        assert _refused(app, "TRUNCATE audit_events")
    else:
        assert _refused(app, "INSERT OR REPLACE INTO audit_events SELECT * FROM audit_events WHERE seq = 2")


# --- changes behind the service's back are found -----------------------------------------------------------


def _behind_the_back(app, *statements: str) -> None:
    """What someone with database access could do after removing the guards."""
    with app.state.engine.begin() as connection:
        if app.state.engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            connection.execute(text("DROP TRIGGER audit_events_no_update"))
            connection.execute(text("DROP TRIGGER audit_events_no_delete"))
        for statement in statements:
            connection.execute(text(statement))


def test_verify_finds_an_altered_event(history, app, auditor):
    _behind_the_back(app, "UPDATE audit_events SET reason = 'nothing to see' WHERE seq = 5")
    check = auditor.get("/audit/verify").json()
    assert check["ok"] is False and check["first_bad_seq"] == 5 and "altered" in check["problem"]


def test_verify_finds_a_deleted_event(history, app, auditor):
    _behind_the_back(app, "DELETE FROM audit_events WHERE seq = 3")
    check = auditor.get("/audit/verify").json()
    assert check["ok"] is False and check["first_bad_seq"] == 3


def test_verify_finds_the_last_event_deleted(history, app, auditor):
    size = auditor.get("/audit/verify").json()["size"]
    _behind_the_back(app, f"DELETE FROM audit_events WHERE seq = {size}")
    check = auditor.get("/audit/verify").json()
    assert check["ok"] is False and check["first_bad_seq"] == size


def test_verify_finds_a_change_to_the_data_of_an_event(history, app, auditor):
    json_text = '{"code": "X-1"}'
    _behind_the_back(app, f"UPDATE audit_events SET data = '{json_text}' WHERE seq = 4")
    check = auditor.get("/audit/verify").json()
    assert check["ok"] is False and check["first_bad_seq"] == 4 and "altered" in check["problem"]


@pytest.mark.parametrize(
    "change",
    [
        "at = '2020-01-01 00:00:00.000000'",
        "actor_name = 'eve'",
        "entity_version = 99",
        """changes = '{"remaining": {"old": 1, "new": 2}}'""",
        "request_id = NULL",
        f"hash = '{'f' * 64}'",
    ],
)
def test_verify_finds_a_change_to_any_column(history, app, auditor, change):
    _behind_the_back(app, f"UPDATE audit_events SET {change} WHERE seq = 5")
    check = auditor.get("/audit/verify").json()
    assert check["ok"] is False and check["first_bad_seq"] == 5 and "altered" in check["problem"]


@pytest.mark.parametrize("change", ["data = 'not json'", "at = 'yesterday'"])
def test_verify_finds_a_column_it_cannot_read(history, app, auditor, change):
    if app.state.engine.dialect.name == "postgresql":
        pytest.skip("PostgreSQL refuses such values whoever asks")
    _behind_the_back(app, f"UPDATE audit_events SET {change} WHERE seq = 5")
    check = auditor.get("/audit/verify").json()
    assert check["ok"] is False and check["first_bad_seq"] == 5 and "altered" in check["problem"]


def test_verify_finds_a_change_to_the_hashed_text_alone(history, app, auditor):
    _behind_the_back(app, "UPDATE audit_events SET hashed_text = hashed_text || ' ' WHERE seq = 5")
    check = auditor.get("/audit/verify").json()
    assert check["ok"] is False and check["first_bad_seq"] == 5 and "altered" in check["problem"]


def test_verify_finds_reordered_events(history, app, auditor):
    # Swap the contents of events 2 and 3 while keeping their sequence numbers.
    _behind_the_back(
        app,
        "UPDATE audit_events SET seq = -2 WHERE seq = 2",
        "UPDATE audit_events SET seq = 2 WHERE seq = 3",
        "UPDATE audit_events SET seq = 3 WHERE seq = -2",
    )
    check = auditor.get("/audit/verify").json()
    assert check["ok"] is False and check["first_bad_seq"] == 2


# --- exports verify offline ------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_export_verifies_offline_and_tampering_is_found(history, auditor, tmp_path: Path, fmt):
    response = auditor.get("/audit/export", params={"format": fmt})
    assert response.status_code == 200
    path = tmp_path / f"audit.{fmt}"
    path.write_bytes(response.content)

    check, manifest = verify_export(path)
    assert check.ok, check.problem
    assert manifest is not None and manifest.count == check.size and manifest.exported_by == "aldo"
    assert "audit.exported" in {e["action"] for e in _events(auditor)}  # the export itself is on record

    tampered = tmp_path / f"tampered.{fmt}"
    tampered.write_text(
        path.read_text(encoding="utf-8").replace("supplier name typo", "nothing to see"), encoding="utf-8"
    )
    assert not verify_export(tampered)[0].ok

    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    cut = tmp_path / f"cut.{fmt}"
    cut.write_text("".join(lines[:-3] + lines[-1:]), encoding="utf-8")  # events dropped, manifest kept
    check, _ = verify_export(cut)
    assert not check.ok and "should hold" in check.problem

    unfinished = tmp_path / f"unfinished.{fmt}"
    unfinished.write_text("".join(lines[:-1]), encoding="utf-8")
    assert not verify_export(unfinished)[0].ok


def _export_lines(auditor) -> list[bytes]:
    response = auditor.get("/audit/export", params={"format": "jsonl"})
    assert response.status_code == 200
    return response.content.splitlines(keepends=True)


def test_an_export_line_is_the_hashed_text_with_its_hash(history, auditor):
    *events, manifest = _export_lines(auditor)
    first = json.loads(events[0])
    assert list(first)[-1] == "hash" and first == _events(auditor)[0]
    body = events[0].removesuffix(b"\n")[: -len(',"hash":"' + first["hash"] + '"}')] + b"}"
    assert hashlib.sha256(body).hexdigest() == first["hash"]
    assert json.loads(manifest)["manifest"]["head_hash"] == json.loads(events[-1])["hash"]


def test_an_export_in_the_earlier_format_still_verifies(history, auditor, tmp_path: Path):
    """Exports written before the hashed text was stored carry each event as its model's JSON."""
    *events, manifest = _export_lines(auditor)
    earlier = [AuditEvent.model_validate_json(line).model_dump_json().encode() + b"\n" for line in events]
    path = tmp_path / "earlier.jsonl"
    path.write_bytes(b"".join([*earlier, manifest]))
    check, _ = verify_export(path)
    assert check.ok and check.size == len(events)
    path.write_bytes(path.read_bytes().replace(b"supplier name typo", b"nothing to see"))
    assert not verify_export(path)[0].ok


def _verified(lines: list[bytes]) -> ChainCheck:
    verifier = ChainVerifier()
    verifier.add_lines(lines)
    return verifier.result()


def test_the_offline_verifier_names_the_first_bad_line(history, auditor):
    events = _export_lines(auditor)[:-1]
    assert _verified(events).ok
    # Outside the hashed text, the line must end with exactly the hash key and value: else it is no event.
    tail = events[:]
    tail[3] = tail[3].replace(b',"hash":"', b',"hasX":"')
    with pytest.raises(ValueError, match="hash"):
        _verified(tail)
    altered = events[:]
    corrected = next(i for i, line in enumerate(events) if b"supplier name typo" in line)
    altered[corrected] = altered[corrected].replace(b"supplier name typo", b"nothing to see")
    assert _verified(altered).model_dump(include={"first_bad_seq", "problem"}) == {
        "first_bad_seq": corrected + 1,
        "problem": "the event's content does not match its hash: it was altered",
    }
    swapped = events[:]
    swapped[1], swapped[2] = swapped[2], swapped[1]
    assert _verified(swapped).first_bad_seq == 2
    assert _verified(events[:2] + events[3:]).first_bad_seq == 3


# --- signed checkpoints and proofs, checked by the client -----------------------------------------------


def test_checkpoints_prove_growth_and_inclusion(history, api, auditor, tmp_path: Path):
    from clients.audit_proofs import ProofError, accept_checkpoint, check_inclusion
    from schemas.audit import Checkpoint, ConsistencyProof, InclusionProof

    kept = tmp_path / "kept-checkpoints.jsonl"  # kept by the auditor, outside the server
    key = auditor.get("/audit/public-key").text
    first = Checkpoint.model_validate(auditor.get("/audit/checkpoint").json())
    assert accept_checkpoint(kept, first, None, key) is None  # first use: trusted, kept

    api.post("/lots", json={"type": "THF", "quantity": "100 mL"})
    second = Checkpoint.model_validate(auditor.get("/audit/checkpoint").json())
    assert second.size > first.size
    proof = ConsistencyProof.model_validate(
        auditor.get("/audit/proofs/consistency", params={"old": first.size, "new": second.size}).json()
    )
    assert accept_checkpoint(kept, second, proof, key) == first

    event = _events(auditor, action="item.corrected")[0]
    inclusion = InclusionProof.model_validate(
        auditor.get("/audit/proofs/inclusion", params={"seq": event["seq"], "size": second.size}).json()
    )
    check_inclusion(bytes.fromhex(event["hash"]), inclusion, second)
    with pytest.raises(ProofError):
        check_inclusion(bytes.fromhex(event["prev_hash"]), inclusion, second)

    forged = second.model_copy(update={"size": second.size + 1})
    with pytest.raises(ProofError):
        accept_checkpoint(kept, forged, proof, key)

    assert auditor.get("/audit/proofs/inclusion", params={"seq": 10_000}).status_code == 422
    assert auditor.get("/audit/proofs/consistency", params={"old": 10_000}).status_code == 422
