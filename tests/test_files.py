"""The file store: uploads are stored once by content, fetched by digest, limited in size, never by path."""

import hashlib
import json

from service.config import Settings
from tests.objectstore import lose, stored_names

FILE_STORES = ("local", "s3")  # these tests run on the folder and on a real S3 store


def test_upload_and_fetch_back(api):
    content = b"2theta,intensity\n10,5\n20,7\n30,2\n"
    created = api.post("/files", files={"file": ("xrd.csv", content, "application/octet-stream")})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["size"] == len(content)
    assert body["media_type"] == "text/csv"  # sniffed, not the uploader's octet-stream
    fetched = api.get(body["url"])
    assert fetched.status_code == 200
    assert fetched.content == content
    assert fetched.headers["content-type"].startswith("text/csv")
    assert api.get(body["url"] + "/meta").json()["name"] == "xrd.csv"


def test_the_same_bytes_are_stored_once(api, settings: Settings):
    content = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    first = api.post("/files", files={"file": ("a.png", content)}).json()
    second = api.post("/files", files={"file": ("b.png", content)}).json()
    assert first["sha256"] == second["sha256"]
    assert second["name"] == "a.png"
    assert first["media_type"] == "image/png"
    assert stored_names(settings) == [f"{d[:2]}/{d[2:4]}/{d}" for d in [first["sha256"]]]


def test_too_large_is_refused_with_413(app, api):
    app.state.settings = app.state.settings.model_copy(update={"max_file_bytes": 10})
    refused = api.post("/files", files={"file": ("big.bin", b"x" * 11)})
    assert refused.status_code == 413
    assert refused.headers["content-type"] == "application/problem+json"


def test_no_path_traversal_and_unknown_digests(api):
    for bad in ("..%2F..%2Fetc%2Fpasswd", "abc", "g" * 64):
        response = api.get(f"/files/{bad}")
        assert response.status_code in (404, 422), bad
    assert api.get("/files/" + "0" * 64).status_code == 404


def test_a_retried_upload_with_the_same_key_is_applied_once(api):
    content = b"same"
    headers = {"Idempotency-Key": "upload-1"}
    first = api.post("/files", files={"file": ("x.txt", content)}, headers=headers)
    again = api.post("/files", files={"file": ("x.txt", content)}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = api.post("/files", files={"file": ("x.txt", b"different")}, headers=headers)
    assert other.status_code == 422


def test_a_download_answers_one_byte_range(api):
    content = bytes(range(256)) * 40
    url = api.post("/files", files={"file": ("spectrum.bin", content)}).json()["url"]
    whole = api.get(url)
    assert whole.headers["accept-ranges"] == "bytes" and whole.content == content
    part = api.get(url, headers={"Range": "bytes=100-355"})
    assert part.status_code == 206 and part.content == content[100:356]
    assert part.headers["content-range"] == f"bytes 100-355/{len(content)}"
    assert api.get(url, headers={"Range": "bytes=-10"}).content == content[-10:]
    assert api.get(url, headers={"Range": "bytes=10000-"}).content == content[10000:]
    outside = api.get(url, headers={"Range": f"bytes={len(content)}-"})
    assert outside.status_code == 416 and outside.headers["content-range"] == f"bytes */{len(content)}"


def test_a_refused_upload_leaves_no_bytes_behind(app, api, settings):
    app.state.settings = app.state.settings.model_copy(update={"max_file_bytes": 10})
    assert api.post("/files", files={"file": ("big.bin", b"x" * 5000)}).status_code == 413
    assert stored_names(settings) == []
    # And one that is kept leaves nothing in the staging area.
    sha = api.post("/files", files={"file": ("small.txt", b"tiny")}).json()["sha256"]
    assert stored_names(settings) == [f"{sha[:2]}/{sha[2:4]}/{sha}"]


def test_an_entry_refused_leaves_its_attachments_out_of_the_store(api, settings):
    refused = api.post(
        "/entries",
        data={"entry": json.dumps({"title": "liner", "links": ["item:NOPE-9999"]})},
        files=[("files", ("liner.png", b"\x89PNG\r\n\x1a\n photo", "image/png"))],
    )
    assert refused.status_code == 422, refused.text
    assert stored_names(settings) == []


def test_a_file_whose_bytes_are_lost_is_a_404_that_says_so(api, admin, settings):
    sha = api.post("/files", files={"file": ("lost.csv", b"a,b\n1,2\n3,4\n")}).json()["sha256"]
    lose(settings, sha)
    missing = api.get(f"/files/{sha}")
    assert missing.status_code == 404 and "restore it from backup" in missing.json()["detail"]
    assert api.get(f"/files/{sha}/meta").status_code == 200  # the record stays
    recorded = admin.post(
        "/import", json=[{"op": "record_test", "test": {"cell": "CC-0001", "protocol": "x@1", "file": sha}}]
    )
    assert 400 <= recorded.status_code < 500 and "missing from the store" in recorded.text, recorded.text
