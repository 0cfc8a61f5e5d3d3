"""The Python client itself: retries with one idempotency key, ETags for corrections, problems as errors."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from clients.client import CellprovError, Client
from schemas import ItemPatch, ItemTypeIn, LotIn, Quantity, Role, StepIn, StepInputIn, StepOutputIn, UserIn
from tests.conftest import Person


@pytest.fixture
def client(app: FastAPI, people: dict[Role, Person]) -> Iterator[Client]:
    with Client(
        token=people[Role.scientist].token, http=TestClient(app, raise_server_exceptions=False)
    ) as client:
        yield client


@pytest.fixture
def admin(app: FastAPI, people: dict[Role, Person]) -> Client:
    return Client(token=people[Role.admin].token, http=TestClient(app, raise_server_exceptions=False))


def dmf_lot(litres: float = 1) -> LotIn:
    return LotIn(type="DMF", quantity=Quantity(value=litres, unit="L"), supplier="Sigma-Aldrich")


def test_a_correction_sends_the_etag_of_the_current_version(client: Client) -> None:
    lot = client.receive_lot(dmf_lot())
    corrected = client.correct_item(lot.code, ItemPatch(reason="label says 2.5 L", quantity="2.5 L"))
    assert corrected.version == lot.version + 1
    assert corrected.quantity == Quantity(value=2.5, unit="L")
    versions = client.history(lot.code)
    assert [v.version for v in versions] == [1, 2] and versions[-1].reason == "label says 2.5 L"


def test_a_correction_based_on_a_stale_version_is_refused(client: Client) -> None:
    lot = client.receive_lot(dmf_lot())
    stale = client.etags[lot.code]
    client.correct_item(lot.code, ItemPatch(reason="first correction", supplier="Merck"))
    with pytest.raises(CellprovError) as refused:
        client.correct_item(lot.code, ItemPatch(reason="second correction", supplier="VWR"), if_match=stale)
    assert refused.value.status == 412
    assert client.item(lot.code).supplier == "Merck"


def test_problems_become_an_error_listing_each_of_them(client: Client) -> None:
    step = StepIn(
        protocol="coating-solution@1",
        inputs=[
            StepInputIn(role="material", item="NOPE-0001"),
            StepInputIn(role="solvent", item="NOPE-0002"),
        ],
        outputs=[StepOutputIn(type="no such type")],
    )
    with pytest.raises(CellprovError) as refused:
        client.log_step(step)
    message = str(refused.value)
    assert refused.value.status == 422
    for pointer in ("/inputs/0/item", "/inputs/1/item", "/outputs/0/type"):
        assert pointer in message


def test_void_a_step_puts_back_what_it_used(client: Client) -> None:
    dmf = client.receive_lot(dmf_lot())
    iron = client.receive_lot(LotIn(type="FeCl3·6H2O", quantity=Quantity(value=25, unit="g")))
    linker = client.receive_lot(LotIn(type="2-aminoterephthalic acid", quantity=Quantity(value=10, unit="g")))
    step = client.log_step(
        StepIn(
            protocol="nh2-mil-101-fe-hydrothermal@1",
            parameters={
                "temperature": Quantity(value=110, unit="degC"),
                "duration": Quantity(value=24, unit="h"),
                "drying_temperature": Quantity(value=60, unit="degC"),
                "drying_time": Quantity(value=12, unit="h"),
                "centrifuge_speed": Quantity(value=10000, unit="rpm"),
            },
            inputs=[
                StepInputIn(role="iron_source", item=iron.code, amount=Quantity(value=2.75, unit="g")),
                StepInputIn(role="linker", item=linker.code, amount=Quantity(value=1.105, unit="g")),
                StepInputIn(role="solvent", item=dmf.code, amount=Quantity(value=80, unit="mL")),
                StepInputIn(role="wash_solvent", item=dmf.code, amount=Quantity(value=20, unit="mL")),
            ],
            outputs=[StepOutputIn(type="NH2-MIL-101(Fe)", quantity=Quantity(value=0.9, unit="g"))],
        )
    )
    remaining = client.item(dmf.code).remaining
    assert remaining is not None and remaining.value == pytest.approx(0.9)
    voided = client.void_step(step.id, "logged against the wrong lot")
    assert voided.status == "voided"
    remaining = client.item(dmf.code).remaining
    assert remaining is not None and remaining.value == pytest.approx(1.0)
    assert client.item(step.outputs[0].code).status == "voided"


def test_iter_items_follows_the_cursor(client: Client) -> None:
    made = {client.receive_lot(dmf_lot(n)).code for n in range(1, 6)}
    assert {item.code for item in client.iter_items(type="DMF", limit=2)} == made
    first = client.items(type="DMF", limit=2)
    assert len(first.items) == 2 and first.next_cursor


def test_users_tokens_and_item_types(admin: Client, client: Client) -> None:
    admin.create_user(
        UserIn(username="tess", full_name="Tess Tech", role=Role.scientist, password="tess-password")
    )
    token = client.create_token("tess", "tess-password", name="laptop", expires_in_days=7)
    assert token.user.username == "tess"
    as_tess = Client(token=token.token, http=client.http)
    assert as_tess.me().username == "tess"
    added = admin.add_item_type(ItemTypeIn(name="Zn foil", kind="lot", prefix="ZN"))
    assert added.prefix == "ZN" and "Zn foil" in {t.name for t in client.item_types()}
    assert as_tess.receive_lot(LotIn(type="Zn foil", quantity="10 count")).code == "ZN-0001"


def test_void_an_item(client: Client) -> None:
    lot = client.receive_lot(dmf_lot())
    voided = client.void_item(lot.code, "bottle broke on arrival")
    assert voided.status == "voided" and voided.void_reason == "bottle broke on arrival"


def test_the_same_idempotency_key_receives_a_lot_once(client: Client) -> None:
    body = dmf_lot().model_dump(mode="json", exclude_unset=True)
    first = client.request("POST", "/lots", json=body, headers={"Idempotency-Key": "receive-dmf-1"})
    again = client.request("POST", "/lots", json=body, headers={"Idempotency-Key": "receive-dmf-1"})
    assert first.json()["code"] == again.json()["code"]
    assert len(client.items(type="DMF").items) == 1


# -- retries, against a scripted transport (no server needed) --------------------------------------------


def scripted(answers: list[int | type[httpx.TransportError]]) -> tuple[Client, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status = answers.pop(0) if answers else 200
        if isinstance(status, type):
            raise status("scripted failure", request=request)
        if status >= 400:
            return httpx.Response(status, json={"title": "Unavailable", "status": status})
        return httpx.Response(status, json={"status": "ok"})

    client = Client(
        http=httpx.Client(base_url="http://lab", transport=httpx.MockTransport(answer)), retries=3
    )
    client.backoff = 0.0
    return client, seen


def test_a_post_is_retried_with_the_same_idempotency_key() -> None:
    client, seen = scripted([503, httpx.ConnectError, 504])
    client.request("POST", "/lots", json={})
    assert len(seen) == 4
    assert len({request.headers["Idempotency-Key"] for request in seen}) == 1


def test_retries_give_up_after_the_limit_and_raise_the_last_answer() -> None:
    client, seen = scripted([503, 503, 503, 503, 503])
    with pytest.raises(CellprovError) as failed:
        client.request("GET", "/items")
    assert failed.value.status == 503 and len(seen) == 4


def test_a_patch_is_not_retried() -> None:
    client, seen = scripted([503])
    with pytest.raises(CellprovError):
        client.request("PATCH", "/items/X-1", json={}, headers={"If-Match": '"1"'})
    assert len(seen) == 1 and "Idempotency-Key" not in seen[0].headers


def test_a_server_error_that_is_not_problem_json_still_becomes_a_cellprov_error() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text="<html>bad gateway config</html>")

    client = Client(http=httpx.Client(base_url="http://lab", transport=httpx.MockTransport(answer)))
    with pytest.raises(CellprovError) as failed:
        client.health()
    assert failed.value.problem.status == 400 and "bad gateway config" in str(failed.value)
