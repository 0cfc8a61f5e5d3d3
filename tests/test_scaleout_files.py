"""Several servers, no shared disk: three real processes on one PostgreSQL and one S3 bucket (a real
SeaweedFS), each with its own empty local folder. A cycler file stored through one is downloaded, recorded
as a test run and exported through the others, and idempotency keys hold across them."""

import hashlib
import io
import json
import zipfile
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from schemas import Role
from service.config import Settings
from service.db import make_engine
from tests.conftest import reset
from tests.cycler_files import fixture
from tests.lab import ASSEMBLY, publish_bench_over_http
from tests.objectstore import stored_names
from tests.servers import Server

FILE_STORES = ("s3",)  # the department's deployment; on SQLite the leg is deselected (see conftest)
CYCLER_FILE = "neware_ndax/46_1_5_60_bts16.ndax"


@pytest.fixture
def servers(settings: Settings, people, tmp_path: Path):
    engine = make_engine(settings)
    reset(engine, people)
    engine.dispose()
    own = [settings.model_copy(update={"files_dir": tmp_path / f"files-{n}"}) for n in range(3)]
    started = [Server(s, tmp_path / f"server-{n}.log").start(wait=False) for n, s in enumerate(own)]
    try:
        for server in started:
            server.wait_ready()
        yield started
    finally:
        for server in started:
            server.terminate()


def _client(server: Server, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def _count(settings: Settings, table: str) -> int:
    engine = make_engine(settings)
    with engine.connect() as db:
        count = db.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
    engine.dispose()
    return int(count)


def test_a_cycler_file_travels_between_three_servers_through_the_bucket(servers, people, settings):
    first, second, third = servers
    content = fixture(CYCLER_FILE).read_bytes()
    sha256 = hashlib.sha256(content).hexdigest()
    admin = people[Role.admin].token
    publish_bench_over_http(first.url, admin, ASSEMBLY)

    with _client(first, admin) as one, _client(second, admin) as two, _client(third, admin) as three:
        lot = one.post("/lots", json={"type": "Li foil disc", "quantity": "10 count"}).json()["code"]
        made = one.post(
            "/steps",
            json={
                "protocol": ASSEMBLY,
                "inputs": [{"role": "anode", "item": lot, "amount": "1 count"}],
                "outputs": [{"type": "CR2025 coin cell"}],
            },
        )
        assert made.status_code == 201, made.text
        cell = made.json()["outputs"][0]["code"]

        # Stored through the first; the same Idempotency-Key on the second is the same request.
        key = {"Idempotency-Key": "cycler-file-1"}
        stored = one.post("/files", files={"file": ("cell.ndax", content)}, headers=key)
        assert stored.status_code == 201, stored.text
        assert stored.json()["sha256"] == sha256
        again = two.post("/files", files={"file": ("cell.ndax", content)}, headers=key)
        assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == stored.json()

        # Downloaded from the second (whole and a range): the bytes came from the bucket, not a disk.
        download = two.get(f"/files/{sha256}")
        assert download.status_code == 200 and hashlib.sha256(download.content).hexdigest() == sha256
        part = three.get(f"/files/{sha256}", headers={"Range": "bytes=1000-1999"})
        assert part.status_code == 206 and part.content == content[1000:2000]

        # Recorded as a test run through the second: it reads the file the first stored.
        recorded = two.post(
            "/import",
            json=[
                {"op": "record_test", "test": {"cell": cell, "protocol": "lfp-li-cycling@1", "file": sha256}}
            ],
            headers={"Idempotency-Key": "import-run-1"},
        )
        assert recorded.status_code == 201, recorded.text
        # The same import key sent to the third answers the first's record, writing nothing.
        replayed = three.post(
            "/import",
            json=[
                {"op": "record_test", "test": {"cell": cell, "protocol": "lfp-li-cycling@1", "file": sha256}}
            ],
            headers={"Idempotency-Key": "import-run-1"},
        )
        assert replayed.headers.get("Idempotent-Replayed") == "true"
        (run,) = three.get(f"/items/{cell}/tests").json()
        assert (run["format"], run["parser"], run["file"]["sha256"]) == ("neware_ndax", "fastnda", sha256)
        cycles = three.get(f"/tests/{run['id']}/profiles", params={"cycles": "1"})
        assert cycles.status_code == 200, cycles.text

        # Exported through the third: the .eln holds the file's own bytes.
        exported = three.get(f"/items/{cell}/export", params={"format": "eln"})
        assert exported.status_code == 200, exported.text
        with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
            inside = archive.read(f"{cell}/tests/{run['id']}/raw/cell.ndax")
            metadata = json.loads(archive.read(f"{cell}/ro-crate-metadata.json"))
        assert inside == content
        described = {node["@id"]: node for node in metadata["@graph"]}
        assert described[f"tests/{run['id']}/raw/cell.ndax"]["sha256"] == sha256

        # An upload of a test run retried on another server with the same key: one run.
        upload_key = {"Idempotency-Key": "run-upload-1"}
        for client in (one, three):
            answer = client.post(
                f"/items/{cell}/tests",
                files={"file": ("again.ndax", content)},
                data={"protocol": "lfp-li-cycling@1"},
                headers=upload_key,
            )
            assert answer.status_code == 201, answer.text
        assert len(two.get(f"/items/{cell}/tests").json()) == 2

    assert _count(settings, "files") == 1 and _count(settings, "test_runs") == 2
    # No server kept a stored byte on its own disk; the bucket holds the file once, and nothing staged.
    for server in servers:
        assert stored_names(server.settings.model_copy(update={"files_url": None})) == []
    assert stored_names(settings) == [f"{sha256[:2]}/{sha256[2:4]}/{sha256}"]
