"""Operations: readiness (database and migrations), JSON logs with request ids and no secrets, graceful
shutdown that finishes in-flight requests, production refusing default secrets, backup and restore."""

import json
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from clients import cli
from schemas import Role
from service import migrate
from service.app import create_app
from service.config import Settings
from service.db import make_engine
from tests.conftest import _drop_postgres, _postgres_url, reset
from tests.lab import SYNTHESIS, problem_of, publish_bench, receive
from tests.servers import Server, free_port

# uvicorn drains, then re-raises the SIGTERM it caught, so a clean stop ends with the signal's status.
GRACEFUL = (0, -signal.SIGTERM)


def test_readyz_needs_the_database_at_the_migrations_head(anonymous, app):
    assert anonymous.get("/readyz").json() == {"status": "ok"}
    with app.state.engine.begin() as connection:
        (at,) = connection.execute(text("SELECT version_num FROM alembic_version")).one()
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    body = problem_of(anonymous.get("/readyz"), 503)
    assert "0001" in body["detail"] and "cellprov init" in body["detail"]
    assert anonymous.get("/healthz").status_code == 200  # alive, just not ready
    with app.state.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :at"), {"at": at})
    assert anonymous.get("/readyz").status_code == 200


def test_logs_are_json_with_request_ids_and_never_a_secret(settings, people, tmp_path):
    engine = make_engine(settings)
    reset(engine, people)
    engine.dispose()
    log = tmp_path / "server.log"
    server = Server(settings, log).start()
    sam = people[Role.scientist]
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            issued = client.post("/tokens", json={"username": "sam", "password": sam.password}).json()
            client.post("/tokens", json={"username": "sam", "password": "not-" + sam.password})
            secret = issued["token"]
            mine = {"Authorization": f"Bearer {secret}", "X-Request-ID": "bench-3-lot"}
            assert (
                client.post("/lots", json={"type": "DMF", "quantity": "1 L"}, headers=mine).status_code == 201
            )
            client.get("/me", headers={"Authorization": "Bearer cp_guessed-token-value-123456"})
            client.get("/items", params={"q": secret}, headers=mine)  # a token pasted in the wrong place
            client.get("/me", headers={"Authorization": f"Bearer {sam.token}"})
            client.post(f"/tokens/{issued['id']}/revoke", headers=mine)
            client.get("/me", headers=mine)
    finally:
        assert server.terminate() in GRACEFUL
    text_of_log = log.read_text()
    for secret_value in (secret, sam.token, sam.password, "cp_guessed-token-value-123456"):
        assert secret_value not in text_of_log
    lines = [json.loads(line) for line in text_of_log.splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "cellprov.access"]
    assert len(access) >= 8 and all(len(line["request_id"]) > 0 for line in access)
    lot = next(line for line in access if line["path"] == "/api/v1/lots")
    assert (lot["request_id"], lot["status"], lot["user"], lot["method"]) == (
        "bench-3-lot",
        201,
        "sam",
        "POST",
    )
    assert {line["status"] for line in access} >= {201, 401}


def test_sigterm_finishes_the_request_in_flight_then_exits(settings, people, tmp_path):
    engine = make_engine(settings)
    reset(engine, people)
    engine.dispose()
    log = tmp_path / "server.log"
    server = Server(settings, log).start()
    headers = {"Authorization": f"Bearer {people[Role.scientist].token}", "Content-Type": "application/json"}
    headers_sent, release = threading.Event(), threading.Event()
    answers: list[httpx.Response] = []

    def body():
        yield b'{"type": "DMF", "quantity": "1 L", '
        headers_sent.set()
        assert release.wait(timeout=60)
        yield b'"name": "in flight at shutdown"}'

    def send_slowly() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            answers.append(client.post("/lots", content=body(), headers=headers))

    sender = threading.Thread(target=send_slowly)
    sender.start()
    assert headers_sent.wait(timeout=30)
    assert server.process is not None
    server.process.terminate()  # SIGTERM while the request is half sent
    # Wait until the server stops taking new connections: it says so in its log.
    waited = threading.Event()
    for _ in range(600):
        if "Waiting for connections to close" in log.read_text() or server.process.poll() is not None:
            break
        waited.wait(0.05)
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", server.port), timeout=5),
    ):
        pass
    release.set()
    sender.join(timeout=60)
    assert server.process.wait(timeout=60) in GRACEFUL
    assert "Finished server process" in log.read_text()
    assert len(answers) == 1 and answers[0].status_code == 201, answers
    code = answers[0].json()["code"]

    server = Server(settings, log).start()
    try:
        with httpx.Client(base_url=server.url, headers=headers) as client:
            assert client.get(f"/items/{code}").json()["name"] == "in flight at shutdown"
    finally:
        server.terminate()


def test_production_mode_refuses_to_start_with_a_default_secret(tmp_path):
    env = {
        "CELLPROV_ENV": "production",
        "CELLPROV_DATABASE_URL": "postgresql://cellprov:changeme@127.0.0.1:5432/cellprov",
        "CELLPROV_FILES_DIR": str(tmp_path / "files"),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "uvicorn", "--factory", "service.app:create_app", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parent.parent,
    )
    assert done.returncode != 0
    assert "production refuses to start" in done.stderr and "changeme" not in done.stderr


def _target(settings: Settings, tmp_path: Path) -> tuple[str, Path]:
    if settings.is_sqlite:
        return f"sqlite:///{tmp_path / 'restored' / 'cellprov.db'}", tmp_path / "restored-files"
    url = _postgres_url()
    assert url is not None
    return url, tmp_path / "restored-files"


def test_backup_and_restore_round_trip_with_the_chain_verifying(settings, api, as_role, people, tmp_path):
    publish_bench(as_role[Role.admin], SYNTHESIS)
    lot = receive(api, "FeCl3·6H2O", "25 g")["code"]
    api.post(
        "/steps",
        json={
            "protocol": SYNTHESIS,
            "inputs": [{"role": "iron_source", "item": lot, "amount": "2.75 g"}],
            "outputs": [{"type": "NH2-MIL-101(Fe)"}],
        },
    )
    signed = {"record": f"item:{lot}", "meaning": "authored", "password": people[Role.scientist].password}
    assert api.post("/signatures", json=signed).status_code == 201
    assert as_role[Role.auditor].get("/audit/checkpoint").status_code == 200  # creates the signing key
    before = as_role[Role.auditor].get("/audit/verify").json()

    runner = CliRunner()
    source = ["--database-url", settings.database_url, "--files-dir", str(settings.files_dir)]
    source += ["--audit-key-file", str(settings.audit_key_file)]
    made = runner.invoke(cli.app, ["backup", str(tmp_path / "backup"), *source])
    assert made.exit_code == 0, made.output
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["audit"]["size"] == before["size"] and manifest["audit"]["ok"]

    url, files = _target(settings, tmp_path)
    try:
        if not settings.is_sqlite:
            migrate.upgrade(url)  # an existing, migrated but empty lab database: --force replaces it
        restored = runner.invoke(
            cli.app,
            [
                "restore",
                str(tmp_path / "backup"),
                "--database-url",
                url,
                "--files-dir",
                str(files),
                "--audit-key-file",
                str(tmp_path / "restored-key.pem"),
                "--force",
            ],
        )
        assert restored.exit_code == 0, restored.output
        assert "the chain verifies" in restored.output
        assert (tmp_path / "restored-key.pem").read_bytes() == settings.audit_key_file.read_bytes()

        again = create_app(Settings(database_url=url, files_dir=files))
        try:
            auditor = {"Authorization": f"Bearer {people[Role.auditor].token}"}
            after = _get(again, "/audit/verify", auditor)
            assert after == before
            item = _get(again, f"/items/{lot}", auditor)
            assert item["remaining"]["value"] == pytest.approx(22.25) and len(item["signatures"]) == 1
            assert item["signatures"][0]["valid"]
        finally:
            again.state.engine.dispose()
    finally:
        if not settings.is_sqlite:
            _drop_postgres(url)


def _get(app, path: str, headers: dict) -> dict:
    with TestClient(app, base_url="http://restored/api/v1") as test_client:
        answer = test_client.get(path, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_damaged_backup_is_refused(settings, api, tmp_path):
    receive(api, "DMF", "1 L")
    runner = CliRunner()
    source = ["--database-url", settings.database_url, "--files-dir", str(settings.files_dir)]
    source += ["--audit-key-file", str(settings.audit_key_file)]
    assert runner.invoke(cli.app, ["backup", str(tmp_path / "backup"), *source]).exit_code == 0
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    damaged = tmp_path / "backup" / manifest["database_file"]
    damaged.write_bytes(damaged.read_bytes()[:-100])
    url = f"sqlite:///{tmp_path / 'never.db'}" if settings.is_sqlite else settings.database_url
    refused = runner.invoke(cli.app, ["restore", str(tmp_path / "backup"), "--database-url", url])
    assert refused.exit_code == 1 and "damaged" in refused.output
