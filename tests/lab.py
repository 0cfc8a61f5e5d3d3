"""Recording a lab's lots and steps through the API, and reading problem+json answers, for the HTTP suites."""

from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

SYNTHESIS = "nh2-mil-101-fe-hydrothermal@1"
IMPREGNATION = "mof-copc-impregnation@1"
DISPERSION = "coating-solution@1"
COATING = "drop-coating@1"
CASTING = "lfp-cathode-casting@1"
ASSEMBLY = "cr2025-assembly@1"


def receive(api: TestClient, type_name: str, quantity: str, **fields: Any) -> dict[str, Any]:
    """Receive a lot, e.g. receive(api, "DMF", "1 L"); returns the item as the API shows it."""
    response = api.post("/lots", json={"type": type_name, "quantity": quantity, **fields})
    assert response.status_code == 201, response.text
    return state(response.json())


def used(role: str, code: str, amount: str | None = None) -> dict[str, Any]:
    """One input of a step: `code` in `role`, taking `amount` (e.g. "2.75 g") off what is left."""
    given: dict[str, Any] = {"role": role, "item": code}
    if amount is not None:
        given["amount"] = amount
    return given


def step_body(protocol: str, inputs: list[dict[str, Any]], *outputs: dict[str, Any], **fields: Any) -> dict:
    return {"protocol": protocol, "inputs": inputs, "outputs": list(outputs), **fields}


def log(
    api: TestClient, protocol: str, inputs: list[dict[str, Any]], *outputs: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    """Log a step that must succeed; returns the step as the API shows it."""
    response = api.post("/steps", json=step_body(protocol, inputs, *outputs, **fields))
    assert response.status_code == 201, response.text
    return response.json()


def made(step: dict[str, Any]) -> list[str]:
    """The codes of the items a step made, in the order it made them."""
    return [output["code"] for output in step["outputs"]]


def state(shown: dict[str, Any]) -> dict[str, Any]:
    """An item as recorded, without the signatures GET /items/{code} adds (tested in the signatures suite)."""
    return {field: value for field, value in shown.items() if field != "signatures"}


def item(api: TestClient, code: str) -> dict[str, Any]:
    response = api.get(f"/items/{code}")
    assert response.status_code == 200, response.text
    return state(response.json())


def remaining(api: TestClient, code: str) -> tuple[float, str]:
    left = item(api, code)["remaining"]
    return left["value"], left["unit"]


def problem_of(response: Response, status: int) -> dict[str, Any]:
    """The RFC 9457 body of a refusal, after checking it is one, with the status expected."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "status"} <= set(body)
    assert isinstance(body.get("errors", []), list)
    return body


def pointers(body: dict[str, Any]) -> set[str]:
    """Where the problems of a refusal point (JSON pointers into the body, or header:/query: names)."""
    return {error["pointer"] for error in body.get("errors", [])}


def all_items(api: TestClient, **params: Any) -> list[dict[str, Any]]:
    """Every item matching `params`, following the cursor to the last page."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = api.get("/items", params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found
