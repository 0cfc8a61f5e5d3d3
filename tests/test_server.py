"""A real uvicorn process on each database, driven over real HTTP by parallel clients."""

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import text

from service.db import make_engine
from tests.conftest import reset


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(settings, people) -> Iterator[str]:
    engine = make_engine(settings)
    reset(engine, people)
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "CELLPROV_DATABASE_URL": settings.database_url}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "service.app:create_app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    url = f"http://127.0.0.1:{port}/api/v1"
    # Wait for the process to answer, not for a fixed time.
    transport = httpx.HTTPTransport(retries=50)
    with httpx.Client(transport=transport, timeout=10) as probe:
        for _ in range(100):
            try:
                if probe.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                if process.poll() is not None:
                    pytest.fail("the server process exited")
    yield url
    process.terminate()
    process.wait(timeout=10)


def _client(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def _lots(url: str, token: str) -> dict[str, str]:
    """FeCl3 for 9 syntheses at 2.75 g; linker, DMF and ethanol for all 12."""
    received = {}
    with _client(url, token) as client:
        for type_name, quantity in (
            ("FeCl3·6H2O", "25 g"),
            ("2-aminoterephthalic acid", "50 g"),
            ("DMF", "1 L"),
            ("ethanol", "1 L"),
        ):
            received[type_name] = client.post("/lots", json={"type": type_name, "quantity": quantity}).json()[
                "code"
            ]
    return received


def _take(url: str, token: str, lots: dict[str, str], key: str | None = None) -> httpx.Response:
    """A conforming hydrothermal synthesis: 2.75 g of the FeCl3 lot."""
    headers = {"Idempotency-Key": key} if key else {}
    with _client(url, token) as client:
        return client.post(
            "/steps",
            headers=headers,
            json={
                "protocol": "nh2-mil-101-fe-hydrothermal@1",
                "parameters": {
                    "temperature": "110 degC",
                    "duration": "24 h",
                    "drying_temperature": "60 degC",
                    "drying_time": "12 h",
                    "centrifuge_speed": "10000 rpm",
                },
                "inputs": [
                    {"role": "iron_source", "item": lots["FeCl3·6H2O"], "amount": "2.75 g"},
                    {"role": "linker", "item": lots["2-aminoterephthalic acid"], "amount": "1.105 g"},
                    {"role": "solvent", "item": lots["DMF"], "amount": "80 mL"},
                    {"role": "wash_solvent", "item": lots["ethanol"], "amount": "40 mL"},
                ],
                "outputs": [{"type": "NH2-MIL-101(Fe)", "quantity": "0.9 g"}],
            },
        )


def test_parallel_steps_never_take_more_than_the_lot_holds(server, people):
    token = people["scientist"].token
    lots = _lots(server, token)
    lot = lots["FeCl3·6H2O"]

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda _: _take(server, token, lots), range(12)))

    assert sorted({a.status_code for a in answers}) == [201, 409]
    assert sum(a.status_code == 201 for a in answers) == 9  # 9 x 2.75 g fit in 25 g, the rest is refused
    with _client(server, token) as client:
        assert client.get(f"/items/{lot}").json()["remaining"]["value"] == pytest.approx(0.25)
        assert len(client.get("/steps", params={"item": lot, "limit": 100}).json()["items"]) == 9
        down = client.get(f"/items/{lot}/lineage", params={"direction": "down"}).json()
        assert len(down["nodes"]) == 1 + 9


def test_a_retried_post_racing_itself_is_applied_once(server, people, settings):
    token = people["scientist"].token
    lots = _lots(server, token)
    lot = lots["FeCl3·6H2O"]

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: _take(server, token, lots, key="glovebox-42"), range(6)))

    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    with _client(server, token) as client:
        assert client.get(f"/items/{lot}").json()["remaining"]["value"] == pytest.approx(22.25)
    engine = make_engine(settings)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM steps")).scalar_one() == 1
    engine.dispose()
