"""Scale-out: several real server processes behind one PostgreSQL keep every guarantee — one audit chain,
idempotency keys honoured across processes, no over-consumption, revocation and rate limits everywhere.
(The SQLite leg runs the same processes on one host sharing one database file, which WAL mode allows.)"""

import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from schemas import Role
from service.config import Settings
from service.db import make_engine
from tests.conftest import reset
from tests.lab import SYNTHESIS, publish_bench_over_http
from tests.servers import Server

SERVERS = 3


@pytest.fixture
def servers(settings: Settings, people, tmp_path: Path):
    engine = make_engine(settings)
    reset(engine, people)
    engine.dispose()
    started = [Server(settings, tmp_path / f"server-{n}.log").start(wait=False) for n in range(SERVERS)]
    try:
        for server in started:
            server.wait_ready()
        yield [server.url for server in started]
    finally:
        for server in started:
            server.terminate()


def _client(url: str, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, headers=headers, timeout=60)


def _spread(urls: list[str], count: int, call) -> list[httpx.Response]:
    """`count` calls in parallel, round-robin over the servers: call(url, n)."""
    targets = list(itertools.islice(itertools.cycle(urls), count))
    with ThreadPoolExecutor(max_workers=min(count, 24)) as pool:
        return list(pool.map(call, targets, range(count)))


def _step(lot: str, grams: float) -> dict:
    return {
        "protocol": SYNTHESIS,
        "inputs": [{"role": "iron_source", "item": lot, "amount": {"value": grams, "unit": "g"}}],
        "outputs": [{"type": "NH2-MIL-101(Fe)"}],
    }


def test_several_processes_keep_one_chain_one_inventory_and_idempotency(servers, people, settings):
    publish_bench_over_http(servers[0], people[Role.admin].token, SYNTHESIS)
    token = people[Role.scientist].token
    with _client(servers[0], token) as client:
        lot = client.post("/lots", json={"type": "FeCl3·6H2O", "quantity": "25 g"}).json()["code"]

    def take(url: str, n: int) -> httpx.Response:
        with _client(url, token) as client:
            return client.post("/steps", json=_step(lot, 3.0))

    def retry(url: str, n: int) -> httpx.Response:
        with _client(url, token) as client:
            return client.post("/steps", json=_step(lot, 0.5), headers={"Idempotency-Key": "bench-7-run-3"})

    def receive(url: str, n: int) -> httpx.Response:
        with _client(url, token) as client:
            return client.post("/lots", json={"type": "DMF", "quantity": "1 L", "name": f"bottle {n}"})

    taken = _spread(servers, 24, take)
    assert sum(a.status_code == 201 for a in taken) == 8  # 8 x 3 g fit in 25 g, over three processes
    retried = _spread(servers, 9, retry)
    assert {a.status_code for a in retried} == {201} and len({a.json()["id"] for a in retried}) == 1
    received = _spread(servers, 60, receive)
    assert all(a.status_code == 201 for a in received)

    with _client(servers[1], people[Role.auditor].token) as client:
        check = client.get("/audit/verify").json()
        assert client.get(f"/items/{lot}").json()["remaining"]["value"] == pytest.approx(0.5)
    assert check["ok"], check
    engine = make_engine(settings)
    with engine.connect() as db:
        seqs = [row[0] for row in db.execute(text("SELECT seq FROM audit_events ORDER BY seq"))]
        steps = db.execute(text("SELECT COUNT(*) FROM steps")).scalar_one()
    engine.dispose()
    assert seqs == list(range(1, len(seqs) + 1)) and check["size"] == len(seqs)  # one chain, no fork, no gap
    assert steps == 8 + 1
    print(f"\nscale-out: {SERVERS} processes, {24 + 9 + 60} parallel writes, one chain of {len(seqs)} events")


def test_revocation_and_rate_limits_hold_on_every_process(servers, people):
    sam = people[Role.scientist]
    with _client(servers[0]) as client:
        issued = client.post("/tokens", json={"username": "sam", "password": sam.password}).json()
    with _client(servers[1], issued["token"]) as client:
        assert client.post(f"/tokens/{issued['id']}/revoke").status_code == 200
    for url in servers:
        with _client(url, issued["token"]) as client:
            assert client.get("/me").status_code == 401

    def guess(url: str, n: int) -> httpx.Response:
        with _client(url) as client:
            return client.post("/tokens", json={"username": "rita", "password": f"guess {n}"})

    answers = _spread(servers, 15, guess)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [401] * 5 + [429] * 10, statuses  # exactly the allowed failures, across processes
    with _client(servers[2]) as client:
        right = client.post("/tokens", json={"username": "rita", "password": people[Role.reviewer].password})
        assert right.status_code == 429
