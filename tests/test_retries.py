"""Safe retries: a transport that loses answers after the server applied the request (timeouts, dropped
connections, a gateway's 502) and refuses some connections outright; the client retries with its
Idempotency-Key and nothing is duplicated: no item, no step, no audit event."""

import random
import threading
from collections import Counter

import httpx
from sqlalchemy import text

from clients.client import Client
from schemas import LotIn, Role, StepIn, StepInputIn, StepOutputIn
from service.db import make_engine
from tests.lab import SYNTHESIS, publish_bench_over_http

CLIENTS = 4
ROUNDS = 12  # per client, each: receive a lot, log two steps, void one of them


class Flaky(httpx.BaseTransport):
    """Forwards requests to the real server and then, often, loses the answer on its way back."""

    def __init__(self, seed: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.random = random.Random(seed)
        self.faults: Counter[str] = Counter()
        self.forwarded = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        roll = self.random.random()
        if roll < 0.08:
            self.faults["connection refused (not applied)"] += 1
            raise httpx.ConnectError("injected: connection refused", request=request)
        response = self.inner.handle_request(request)
        response.read()
        self.forwarded += 1
        if roll < 0.22:
            self.faults["read timeout after applying"] += 1
            raise httpx.ReadTimeout("injected: the answer never came", request=request)
        if roll < 0.32:
            self.faults["connection dropped after applying"] += 1
            raise httpx.RemoteProtocolError("injected: server disconnected", request=request)
        if roll < 0.40:
            self.faults["502 from the gateway after applying"] += 1
            return httpx.Response(502, request=request, text="bad gateway")
        return response

    def close(self) -> None:
        self.inner.close()


def _work(root: str, token: str, lot: str, number: int, transports: list[Flaky]) -> None:
    flaky = Flaky(seed=number)
    transports.append(flaky)
    with Client(
        http=httpx.Client(base_url=root, transport=flaky, timeout=30), token=token, retries=12
    ) as client:
        client.backoff = 0.005  # the faults are injected, not congestion: no need to wait long
        for n in range(ROUNDS):
            client.receive_lot(
                LotIn.model_validate({"type": "DMF", "quantity": "1 L", "name": f"c{number} r{n}"})
            )
            steps = [
                client.log_step(
                    StepIn(
                        protocol=SYNTHESIS,
                        inputs=[
                            StepInputIn.model_validate({"role": "iron_source", "item": lot, "amount": "1 g"})
                        ],
                        outputs=[StepOutputIn(type="NH2-MIL-101(Fe)")],
                    )
                )
                for _ in range(2)
            ]
            client.void_step(steps[0].id, reason=f"logged twice by client {number}")


def test_lost_answers_and_retries_duplicate_nothing(live_server, people, settings):
    publish_bench_over_http(live_server, people[Role.admin].token, SYNTHESIS)
    root = live_server.removesuffix("/api/v1")
    token = people[Role.scientist].token
    with Client(root, token) as client:
        lot = client.receive_lot(LotIn.model_validate({"type": "FeCl3·6H2O", "quantity": "1 kg"})).code

    transports: list[Flaky] = []
    threads = [threading.Thread(target=_work, args=(root, token, lot, n, transports)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(transports) == CLIENTS and not any(t.is_alive() for t in threads)

    logical = CLIENTS * ROUNDS
    engine = make_engine(settings)
    with engine.connect() as db:

        def count(sql: str) -> int:
            return int(db.execute(text(sql)).scalar_one())

        dmf = "SELECT name FROM items WHERE type_id = (SELECT id FROM item_types WHERE name = 'DMF')"
        names = [row[0] for row in db.execute(text(dmf))]
        assert sorted(names) == sorted(f"c{c} r{n}" for c in range(CLIENTS) for n in range(ROUNDS))
        assert count("SELECT COUNT(*) FROM steps") == 2 * logical
        assert count("SELECT COUNT(*) FROM steps WHERE status = 'voided'") == logical
        assert count("SELECT COUNT(*) FROM items WHERE produced_by_step_id IS NOT NULL") == 2 * logical
        assert count("SELECT COUNT(*) FROM audit_events WHERE action = 'item.received'") == logical + 1
        assert count("SELECT COUNT(*) FROM audit_events WHERE action = 'step.logged'") == 2 * logical
        assert count("SELECT COUNT(*) FROM audit_events WHERE action = 'step.voided'") == logical
        remaining = db.execute(text("SELECT remaining_value FROM items WHERE code = :c"), {"c": lot})
        # one recorded step per round still holds its 1 g (kept in the lot's unit, kg)
        assert abs(remaining.scalar_one() - (1000 - logical) / 1000) < 1e-9
    engine.dispose()
    with Client(root, people[Role.auditor].token) as client:
        assert client.verify_audit().ok

    faults: Counter[str] = sum((t.faults for t in transports), Counter())
    forwarded = sum(t.forwarded for t in transports)
    applied_then_lost = sum(n for kind, n in faults.items() if "after applying" in kind)
    assert applied_then_lost >= 20 and faults["connection refused (not applied)"] >= 5, faults
    print(
        f"\nretries[{engine.dialect.name}]: {4 * logical} logical writes, {forwarded} requests reached the "
        f"server, {sum(faults.values())} faults injected ({dict(faults)}), duplicates 0, lost 0"
    )
