"""Concurrency with real parallel requests on a real server: a stale correction is refused with 412, a lot is
never over-consumed whatever units the takers use, and a step voided twice at once is restored once."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from schemas import Role
from tests.lab import SYNTHESIS, publish_bench_over_http

PARALLEL = 12


def _client(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def _parallel(count: int, call):
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(call, range(count)))


def test_parallel_corrections_with_the_same_etag_one_wins_the_rest_get_412(live_server, people):
    token = people[Role.scientist].token
    with _client(live_server, token) as client:
        lot = client.post("/lots", json={"type": "DMF", "quantity": "1 L"})
        code, etag = lot.json()["code"], lot.headers["ETag"]

    def correct(n: int) -> httpx.Response:
        with _client(live_server, token) as client:
            patch = {"reason": f"label read by hand, try {n}", "supplier_lot": f"SL-{n}"}
            return client.patch(f"/items/{code}", json=patch, headers={"If-Match": etag})

    answers = _parallel(PARALLEL, correct)
    assert sorted(a.status_code for a in answers) == [200] + [412] * (PARALLEL - 1)
    winner = next(a for a in answers if a.status_code == 200).json()
    with _client(live_server, token) as client:
        now = client.get(f"/items/{code}").json()
        history = client.get(f"/items/{code}/history").json()
    assert now["version"] == 2 and now["supplier_lot"] == winner["supplier_lot"]
    assert [v["action"] for v in history] == ["received", "corrected"]


def test_takers_in_mixed_units_never_over_consume_a_lot(live_server, people):
    publish_bench_over_http(live_server, people[Role.admin].token, SYNTHESIS)
    token = people[Role.scientist].token
    with _client(live_server, token) as client:
        lot = client.post("/lots", json={"type": "FeCl3·6H2O", "quantity": "10 g"}).json()["code"]
    amounts = ["1 g", "1000 mg", "0.001 kg"]

    def take(n: int) -> httpx.Response:
        with _client(live_server, token) as client:
            return client.post(
                "/steps",
                json={
                    "protocol": SYNTHESIS,
                    "inputs": [{"role": "iron_source", "item": lot, "amount": amounts[n % 3]}],
                    "outputs": [{"type": "NH2-MIL-101(Fe)"}],
                },
            )

    answers = _parallel(24, take)
    assert sum(a.status_code == 201 for a in answers) == 10
    assert {a.status_code for a in answers} == {201, 409}
    with _client(live_server, token) as client:
        shown = client.get(f"/items/{lot}").json()
    assert shown["remaining"]["value"] == pytest.approx(0) and shown["status"] == "consumed"


def test_a_step_voided_twice_at_once_is_restored_once(live_server, people):
    publish_bench_over_http(live_server, people[Role.admin].token, SYNTHESIS)
    token = people[Role.scientist].token
    with _client(live_server, token) as client:
        lot = client.post("/lots", json={"type": "FeCl3·6H2O", "quantity": "25 g"}).json()["code"]
        step = client.post(
            "/steps",
            json={
                "protocol": SYNTHESIS,
                "inputs": [{"role": "iron_source", "item": lot, "amount": "5 g"}],
                "outputs": [{"type": "NH2-MIL-101(Fe)"}],
            },
        ).json()

    def void(n: int) -> httpx.Response:
        with _client(live_server, token) as client:
            return client.post(f"/steps/{step['id']}/void", json={"reason": f"logged by mistake ({n})"})

    answers = _parallel(8, void)
    assert sorted(a.status_code for a in answers) == [200] + [409] * 7
    with _client(live_server, token) as client:
        assert client.get(f"/items/{lot}").json()["remaining"]["value"] == pytest.approx(25)
    with _client(live_server, people[Role.auditor].token) as client:
        assert client.get("/audit/verify").json()["ok"]
        assert len(client.get("/audit", params={"action": "step.voided"}).json()["items"]) == 1
