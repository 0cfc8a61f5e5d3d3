"""E-signatures: re-authenticated, bound to the exact record version, invalid once the record changes."""

import pytest

from schemas import Role
from tests.lab import SYNTHESIS, publish_bench

STEP = {
    "protocol": SYNTHESIS,
    "outputs": [{"type": "NH2-MIL-101(Fe)", "quantity": "0.9 g"}],
}


@pytest.fixture(autouse=True)
def bench(admin):
    publish_bench(admin, SYNTHESIS)


@pytest.fixture
def passwords(people):
    return {role: person.password for role, person in people.items()}


@pytest.fixture
def step(api):
    lot = api.post("/lots", json={"type": "FeCl3·6H2O", "quantity": "25 g"}).json()["code"]
    body = {**STEP, "inputs": [{"role": "iron_source", "item": lot, "amount": "2.75 g"}]}
    return api.post("/steps", json=body).json()


def _sign(client, record: str, meaning: str, password: str):
    return client.post("/signatures", json={"record": record, "meaning": meaning, "password": password})


def test_author_signs_and_reviewer_approves(step, as_role, passwords):
    record = f"step:{step['id']}"
    authored = _sign(as_role[Role.scientist], record, "authored", passwords[Role.scientist])
    assert authored.status_code == 201, authored.text
    assert authored.json()["signer"] == "sam" and authored.json()["valid"]
    approved = _sign(as_role[Role.reviewer], record, "approved", passwords[Role.reviewer])
    assert approved.status_code == 201, approved.text

    shown = as_role[Role.auditor].get(f"/steps/{step['id']}").json()["signatures"]
    assert [(s["meaning"], s["signer"], s["valid"]) for s in shown] == [
        ("authored", "sam", True),
        ("approved", "rita", True),
    ]
    history = as_role[Role.auditor].get(f"/steps/{step['id']}/history").json()
    assert [e["action"] for e in history] == ["step.logged", "signature.created", "signature.created"]
    assert history[2]["data"]["meaning"] == "approved"
    assert len(history[1]["data"]["record_sha256"]) == 64


def test_you_cannot_approve_your_own_step(admin, as_role, passwords):
    lot = admin.post("/lots", json={"type": "FeCl3·6H2O", "quantity": "25 g"}).json()["code"]
    own = admin.post("/steps", json={**STEP, "inputs": [{"role": "iron_source", "item": lot}]}).json()
    refused = _sign(admin, f"step:{own['id']}", "approved", passwords[Role.admin])
    assert refused.status_code == 403 and "own record" in refused.json()["detail"]
    not_author = _sign(as_role[Role.reviewer], f"step:{own['id']}", "authored", passwords[Role.reviewer])
    assert not_author.status_code == 403


@pytest.mark.parametrize(
    ("role", "meaning"),
    [(Role.scientist, "approved"), (Role.scientist, "reviewed"), (Role.auditor, "witnessed")],
)
def test_roles_decide_who_signs_what(step, as_role, passwords, role, meaning):
    assert _sign(as_role[role], f"step:{step['id']}", meaning, passwords[role]).status_code == 403


def test_a_wrong_password_signs_nothing_and_is_recorded(step, as_role):
    refused = _sign(as_role[Role.reviewer], f"step:{step['id']}", "reviewed", "not my password")
    assert refused.status_code == 401
    assert as_role[Role.auditor].get("/signatures", params={"record": f"step:{step['id']}"}).json() == []
    failed = as_role[Role.auditor].get("/audit", params={"action": "auth.failed"}).json()["items"]
    assert failed[-1]["entity_type"] == "signature" and failed[-1]["actor_name"] == "rita"


def test_changing_a_signed_record_invalidates_the_signature(api, as_role, passwords):
    lot = api.post("/lots", json={"type": "THF", "quantity": "100 mL"}).json()
    witnessed = _sign(as_role[Role.reviewer], f"item:{lot['code']}", "witnessed", passwords[Role.reviewer])
    assert witnessed.status_code == 201 and witnessed.json()["record_version"] == 1
    assert api.get(f"/items/{lot['code']}").json()["signatures"][0]["valid"] is True

    api.patch(
        f"/items/{lot['code']}",
        json={"reason": "wrong supplier", "supplier": "Acros"},
        headers={"If-Match": '"1"'},
    )
    now = api.get(f"/items/{lot['code']}").json()
    assert now["version"] == 2 and now["signatures"][0]["valid"] is False
    history = api.get(f"/items/{lot['code']}/history").json()
    assert [len(v["signatures"]) for v in history] == [1, 0]  # the signature belongs to version 1


def test_bad_signature_requests(step, as_role, passwords):
    reviewer = as_role[Role.reviewer]
    assert _sign(reviewer, "item:NOPE-0001", "reviewed", passwords[Role.reviewer]).status_code == 404
    assert _sign(reviewer, "step:999999", "reviewed", passwords[Role.reviewer]).status_code == 404
    bad = _sign(reviewer, "lot:1", "blessed", passwords[Role.reviewer])  # entries are signable now
    assert bad.status_code == 422 and {e["pointer"] for e in bad.json()["errors"]} == {"/record", "/meaning"}


def test_signatures_and_the_audit_excerpt_travel_with_every_export(api, as_role, passwords):
    import io
    import json
    import zipfile

    lot = api.post("/lots", json={"type": "THF", "quantity": "100 mL"}).json()["code"]
    assert (
        _sign(as_role[Role.reviewer], f"item:{lot}", "reviewed", passwords[Role.reviewer]).status_code == 201
    )

    prov = api.get(f"/items/{lot}/export", params={"format": "prov-json"}).json()
    entity = next(iter(prov["entity"].values()))
    signed = json.loads(entity["cellprov:signatures"])
    assert [(s["meaning"], s["signer"], s["valid"]) for s in signed] == [("reviewed", "rita", True)]

    archive = zipfile.ZipFile(io.BytesIO(api.get(f"/items/{lot}/export", params={"format": "eln"}).content))
    names = {name.split("/", 1)[1] for name in archive.namelist()}
    assert {"signatures.json", "audit-excerpt.jsonl"} <= names
    top = archive.namelist()[0].split("/")[0]
    excerpt = archive.read(f"{top}/audit-excerpt.jsonl").decode().splitlines()
    assert [json.loads(line)["action"] for line in excerpt] == [
        "item.received",
        "signature.created",
        "item.exported",
    ]

    exported = as_role[Role.auditor].get("/audit", params={"action": "item.exported"}).json()["items"]
    assert [(e["entity_id"], e["data"]["format"], e["actor_name"]) for e in exported] == [
        (lot, "prov-json", "sam"),
        (lot, "eln", "sam"),
    ]
