"""Hostile input: schemathesis drives every operation of the live OpenAPI schema, authenticated, with data
that fits the schema and data that does not; no answer may be a 5xx or break the schema it declares.

The suite runs a bounded number of examples per operation; `make fuzz` runs many more
(CELLPROV_FUZZ_EXAMPLES) with shrinking, so a failure comes back as its smallest form."""

import os
from dataclasses import dataclass, field

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from schemas import Role
from tests.lab import SYNTHESIS, publish_bench_over_http

EXAMPLES = int(os.environ.get("CELLPROV_FUZZ_EXAMPLES", "8"))
SHRINK = os.environ.get("CELLPROV_FUZZ_SHRINK", "") == "1"
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
# Revoking runs as the auditor, last: a revoked admin token would leave the rest of the run at 401.
LAST = "POST /api/v1/tokens/{token_id}/revoke"


@dataclass
class Tally:
    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def _seed(url: str, token: str) -> None:
    """Something to find: a lot and a step made from it, so GETs by code and id meet real records."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
        lot = client.post("/lots", json={"type": "FeCl3·6H2O", "quantity": "25 g", "code": "FECL-0001"})
        assert lot.status_code == 201, lot.text
        step = client.post(
            "/steps",
            json={
                "protocol": SYNTHESIS,
                "inputs": [{"role": "iron_source", "item": "FECL-0001", "amount": "1 g"}],
                "outputs": [{"type": "NH2-MIL-101(Fe)"}],
            },
        )
        assert step.status_code == 201, step.text


def _fuzz(operation, token: str, session: requests.Session, tally: Tally) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=not SHRINK,
            database=None,
            phases=[Phase.explicit, Phase.generate, *([Phase.shrink] if SHRINK else [])],
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            response = case.call(session=session, headers=headers)
            tally.requests += 1
            tally.statuses[response.status_code] = tally.statuses.get(response.status_code, 0) + 1
            case.validate_response(response, checks=CHECKS, headers=headers)

        try:
            run()
        except Unsatisfiable:
            continue  # nothing to get wrong: an operation without parameters or body has no negative form
        except Exception as failure:  # every operation is fuzzed; all failures are reported together
            tally.failures.append(f"{operation.label} ({mode.value}): {failure}"[:3000])


def test_no_operation_answers_5xx_or_breaks_its_schema(live_server, people):
    root = live_server.removesuffix("/api/v1")
    publish_bench_over_http(live_server, people[Role.admin].token, SYNTHESIS)
    _seed(live_server, people[Role.scientist].token)
    schema = schemathesis.openapi.from_url(f"{root}/openapi.json")
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()), key=lambda o: o.label == LAST
    )
    assert len(operations) >= 30
    tally = Tally()
    with requests.Session() as session:
        for operation in operations:
            role = Role.auditor if operation.label == LAST else Role.admin
            _fuzz(operation, people[role].token, session, tally)
    print(
        f"\nfuzz: {len(operations)} operations, {tally.requests} requests, "
        f"statuses {sorted(tally.statuses.items())}"
    )
    assert not tally.failures, "\n\n".join(tally.failures)
    assert not any(status >= 500 for status in tally.statuses)
