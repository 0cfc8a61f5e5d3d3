"""A real uvicorn process on each database, driven over real HTTP by parallel clients."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from service.config import Settings
from service.db import make_engine
from tests.conftest import reset
from tests.servers import Server, running


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


def test_parallel_steps_never_take_more_than_the_lot_holds(live_server, people):
    token = people["scientist"].token
    lots = _lots(live_server, token)
    lot = lots["FeCl3·6H2O"]

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda _: _take(live_server, token, lots), range(12)))

    assert sorted({a.status_code for a in answers}) == [201, 409]
    assert sum(a.status_code == 201 for a in answers) == 9  # 9 x 2.75 g fit in 25 g, the rest is refused
    with _client(live_server, token) as client:
        assert client.get(f"/items/{lot}").json()["remaining"]["value"] == pytest.approx(0.25)
        assert len(client.get("/steps", params={"item": lot, "limit": 100}).json()["items"]) == 9
        down = client.get(f"/items/{lot}/lineage", params={"direction": "down"}).json()
        assert len(down["nodes"]) == 1 + 9
    with _client(live_server, people["auditor"].token) as client:
        assert client.get("/audit/verify").json()["ok"]
        logged = client.get("/audit", params={"action": "step.logged", "limit": 1000}).json()["items"]
    assert len(logged) == 9  # one event per acknowledged step, none for the refused ones


def test_a_retried_post_racing_itself_is_applied_once(live_server, people, settings):
    token = people["scientist"].token
    lots = _lots(live_server, token)
    lot = lots["FeCl3·6H2O"]

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: _take(live_server, token, lots, key="glovebox-42"), range(6)))

    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    with _client(live_server, token) as client:
        assert client.get(f"/items/{lot}").json()["remaining"]["value"] == pytest.approx(22.25)
    engine = make_engine(settings)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM steps")).scalar_one() == 1
    engine.dispose()


def test_parallel_writers_leave_one_gapless_verifying_chain(live_server, people):
    """Many clients writing at once: every acknowledged change is exactly one event, and the chain holds."""
    token, auditor = people["scientist"].token, people["auditor"].token

    def receive(n: int) -> httpx.Response:
        with _client(live_server, token) as client:
            return client.post("/lots", json={"type": "DMF", "quantity": f"{n + 1} mL"})

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(receive, range(48)))
    acknowledged = {a.json()["code"] for a in answers if a.status_code == 201}
    assert len(acknowledged) == 48

    with _client(live_server, auditor) as client:
        check = client.get("/audit/verify").json()
        events = client.get("/audit", params={"action": "item.received", "limit": 1000}).json()["items"]
    assert check["ok"], check
    assert sorted(e["entity_id"] for e in events) == sorted(acknowledged)


@pytest.fixture
def two_workers(settings: Settings, people, tmp_path: Path) -> Iterator[Server]:
    """`service.serving --workers 2`: two processes on one port and one database."""
    engine = make_engine(settings)
    reset(engine, people)
    engine.dispose()
    with running(settings, tmp_path / "server.log", workers=2) as server:
        yield server


def test_two_worker_processes_share_one_inventory_one_counter_and_one_chain(two_workers, people):
    """Writers in two processes: SQLite's writers queue on the lock file, PostgreSQL's take item codes apart
    from their transaction; either way nothing is taken twice, no code is handed out twice, and the chain
    holds every acknowledged change once."""
    url, token = two_workers.url, people["scientist"].token
    lots = _lots(url, token)

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda _: _take(url, token, lots), range(12)))

    made = [a.json()["outputs"][0]["code"] for a in answers if a.status_code == 201]
    assert sorted(a.status_code for a in answers) == [201] * 9 + [409] * 3
    assert len(set(made)) == 9
    if two_workers.settings.is_sqlite:  # counted inside the write's transaction: no gaps
        assert sorted(int(code.rsplit("-", 1)[1]) for code in made) == list(range(1, 10))
    with _client(url, token) as client:
        assert client.get(f"/items/{lots['FeCl3·6H2O']}").json()["remaining"]["value"] == pytest.approx(0.25)
    with _client(url, people["auditor"].token) as client:
        assert client.get("/audit/verify").json()["ok"]
        logged = client.get("/audit", params={"action": "step.logged", "limit": 1000}).json()["items"]
    assert len(logged) == 9
