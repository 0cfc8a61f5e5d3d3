"""Notebook entries through the API: written, corrected with a reason, voided, filtered, signed, attached."""

import hashlib
import json

from fastapi.testclient import TestClient

from schemas import Role
from tests.lab import problem_of, receive
from tests.objectstore import stored_names

FILE_STORES = ("local", "s3")  # these tests run on the folder and on a real S3 store


def write(api: TestClient, **fields) -> dict:
    response = api.post("/entries", json={"title": "Observation", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def test_an_entry_is_written_linked_and_read_back(api):
    lot = receive(api, "FeCl3·6H2O", "25 g", supplier_lot="MKCR4471")
    entry = write(
        api,
        title="Lot looks caked",
        body="The **FeCl3** lot arrived caked; kept in the desiccator.",
        tags=["Reagents", "storage"],
        links=[f"item:{lot['code']}"],
        date="2025-01-14",
    )
    assert entry["author"] == "sam" and entry["version"] == 1 and entry["status"] == "active"
    assert entry["tags"] == ["reagents", "storage"]
    assert entry["date"] == "2025-01-14"
    shown = api.get(f"/entries/{entry['id']}")
    assert shown.headers["ETag"] == '"1"'
    assert shown.json()["links"] == [f"item:{lot['code']}"]
    assert shown.json()["signatures"] == []
    listed = api.get(f"/items/{lot['code']}/entries").json()
    assert [e["id"] for e in listed["items"]] == [entry["id"]]


def test_links_must_name_existing_records_of_known_kinds(api):
    response = api.post("/entries", json={"title": "x", "links": ["item:NOPE-0001", "step:99", "cycler:3"]})
    body = problem_of(response, 422)
    assert {e["pointer"] for e in body["errors"]} == {"/links/0", "/links/1", "/links/2"}
    assert api.get("/entries").json()["items"] == []


def test_unknown_fields_and_bad_tags_are_refused(api):
    problem_of(api.post("/entries", json={"title": "x", "colour": "red"}), 422)
    problem_of(api.post("/entries", json={"title": "x", "tags": ["has space"]}), 422)
    problem_of(api.post("/entries", json={"body": "no title"}), 422)


def test_a_correction_needs_if_match_and_a_reason_and_keeps_history(api):
    entry = write(api, body="first text")
    path = f"/entries/{entry['id']}"
    problem_of(api.patch(path, json={"reason": "typo fixed", "body": "second"}), 428)
    problem_of(api.patch(path, json={"body": "second"}, headers={"If-Match": '"1"'}), 422)
    fixed = api.patch(path, json={"reason": "typo fixed", "body": "second"}, headers={"If-Match": '"1"'})
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["version"] == 2 and fixed.headers["ETag"] == '"2"'
    problem_of(api.patch(path, json={"reason": "again", "body": "third"}, headers={"If-Match": '"1"'}), 412)
    history = api.get(f"{path}/history").json()
    assert [v["action"] for v in history] == ["created", "corrected"]
    assert history[1]["reason"] == "typo fixed"
    assert history[1]["changes"]["body"] == {"old": "first text", "new": "second"}


def test_only_the_author_or_an_admin_changes_an_entry(as_role, api, admin):
    entry = write(api)
    path = f"/entries/{entry['id']}"
    other = admin.post(
        "/users",
        json={"username": "lena", "full_name": "Lena", "role": "scientist", "password": "correct horse"},
    )
    assert other.status_code == 201
    token = admin.post("/tokens", json={"username": "lena", "password": "correct horse"}).json()["token"]
    lena = {"Authorization": f"Bearer {token}"}
    problem_of(api.post(f"{path}/void", json={"reason": "not mine"}, headers=lena), 403)
    problem_of(as_role[Role.reviewer].post("/entries", json={"title": "x"}), 403)
    assert (
        admin.patch(path, json={"reason": "admin fix", "title": "T"}, headers={"If-Match": "*"}).status_code
        == 200
    )


def test_void_keeps_the_entry_readable_and_refuses_corrections(api):
    entry = write(api)
    path = f"/entries/{entry['id']}"
    voided = api.post(f"{path}/void", json={"reason": "wrong cell"})
    assert voided.status_code == 200 and voided.json()["status"] == "voided"
    assert api.get(path).json()["void_reason"] == "wrong cell"
    problem_of(api.post(f"{path}/void", json={"reason": "again"}), 409)
    problem_of(api.patch(path, json={"reason": "fix it", "title": "T"}, headers={"If-Match": '"2"'}), 409)
    assert [e["id"] for e in api.get("/entries", params={"status": "voided"}).json()["items"]] == [
        entry["id"]
    ]


def test_entries_are_filtered_by_author_tag_date_and_record(api, admin):
    lot = receive(api, "DMF", "1 L")
    a = write(api, title="a", tags=["xrd"], date="2025-02-01", links=[f"item:{lot['code']}"])
    b = write(api, title="b", tags=["sem"], date="2025-02-10")
    c = write(admin, title="c", tags=["xrd"], date="2025-03-01")

    def ids(**params):
        response = api.get("/entries", params=params)
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()["items"]]

    assert ids() == [c["id"], b["id"], a["id"]]
    assert ids(author="ada") == [c["id"]]
    assert ids(tag="XRD") == [c["id"], a["id"]]
    assert ids(since="2025-02-05", until="2025-02-28") == [b["id"]]
    assert ids(record=f"item:{lot['code']}") == [a["id"]]
    page = api.get("/entries", params={"limit": 2}).json()
    more = api.get("/entries", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [e["id"] for e in page["items"] + more["items"]] == [c["id"], b["id"], a["id"]]


def test_entries_are_audited_and_signable(api, as_role, people):
    entry = write(api, body="signed text")
    ref = f"entry:{entry['id']}"
    signed = api.post(
        "/signatures",
        json={"record": ref, "meaning": "authored", "password": people[Role.scientist].password},
    )
    assert signed.status_code == 201, signed.text
    assert signed.json()["record_version"] == 1
    reviewer = as_role[Role.reviewer]
    reviewed = reviewer.post(
        "/signatures", json={"record": ref, "meaning": "reviewed", "password": people[Role.reviewer].password}
    )
    assert reviewed.status_code == 201, reviewed.text
    assert all(s["valid"] for s in api.get(f"/entries/{entry['id']}").json()["signatures"])
    api.patch(
        f"/entries/{entry['id']}",
        json={"reason": "more detail", "body": "changed"},
        headers={"If-Match": '"1"'},
    )
    assert not any(s["valid"] for s in api.get(f"/signatures?record={ref}").json())
    events = as_role[Role.auditor].get(
        "/audit", params={"entity_type": "entry", "entity_id": str(entry["id"])}
    )
    actions = [e["action"] for e in events.json()["items"]]
    assert actions == ["entry.created", "signature.created", "signature.created", "entry.corrected"]
    assert as_role[Role.auditor].get("/audit/verify").json()["ok"]


def test_files_uploaded_with_the_entry_are_stored_by_sha256(api, settings):
    photo = b"\x89PNG\r\n\x1a\n liner photo"
    response = api.post(
        "/entries",
        data={"entry": json.dumps({"title": "Autoclave liner", "body": "see photo"})},
        files=[
            ("files", ("liner.png", photo, "image/png")),
            ("files", ("../../etc/notes.txt", b"hi", "text/plain")),
        ],
    )
    assert response.status_code == 201, response.text
    entry = response.json()
    sha = hashlib.sha256(photo).hexdigest()
    assert entry["attachments"][0] == {
        "sha256": sha,
        "name": "liner.png",
        "media_type": "image/png",
        "size": len(photo),
    }
    assert entry["attachments"][1]["name"] == "notes.txt"
    assert f"{sha[:2]}/{sha[2:4]}/{sha}" in stored_names(settings)
    download = api.get(f"/entries/{entry['id']}/attachments/{sha}")
    assert download.status_code == 200 and download.content == photo
    assert "liner.png" in download.headers["content-disposition"]
    # The same blob attached to another entry by reference, without uploading it again.
    again = write(
        api, title="same photo", attachments=[{"sha256": sha, "name": "copy.png", "media_type": "image/png"}]
    )
    assert again["attachments"][0]["size"] == len(photo)
    missing = api.post("/entries", json={"title": "x", "attachments": [{"sha256": "a" * 64, "name": "n"}]})
    assert "/attachments/0/sha256" in {e["pointer"] for e in problem_of(missing, 422)["errors"]}
    problem_of(api.get(f"/entries/{entry['id']}/attachments/{'b' * 64}"), 404)


def test_a_multipart_entry_is_validated_like_json(api):
    bad = api.post(
        "/entries",
        data={"entry": json.dumps({"title": ""})},
        files=[("files", ("a.txt", b"a", "text/plain"))],
    )
    assert "/title" in {e["pointer"] for e in problem_of(bad, 422)["errors"]}
    problem_of(api.post("/entries", data={"entry": "{not json"}, files=[("files", ("a.txt", b"a"))]), 422)
    problem_of(api.post("/entries", content=b"{oops", headers={"content-type": "application/json"}), 422)


def test_a_retried_post_with_the_same_key_writes_one_entry(api):
    headers = {"Idempotency-Key": "entry-1"}
    first = api.post("/entries", json={"title": "once"}, headers=headers)
    second = api.post("/entries", json={"title": "once"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert len(api.get("/entries").json()["items"]) == 1
