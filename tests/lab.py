"""Recording a lab's lots and steps through the API, and reading problem+json answers, for the HTTP suites."""

from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

# Permissive protocols for the suites about inventory, lineage and bad input, which are not about what a
# template demands (tests/test_templates.py is): any role from ROLES, any item type, any amount. Each suite
# publishes them with `publish_bench` before it logs steps.
SYNTHESIS = "bench-synthesis@1"
IMPREGNATION = "bench-impregnation@1"
DISPERSION = "bench-dispersion@1"
COATING = "bench-coating@1"
CASTING = "bench-casting@1"
ASSEMBLY = "bench-assembly@1"
BENCH = (SYNTHESIS, IMPREGNATION, DISPERSION, COATING, CASTING, ASSEMBLY)
ROLES = [
    "iron_source",
    "linker",
    "solvent",
    "solvent_a",
    "solvent_b",
    "wash",
    "mof",
    "copc",
    "powder",
    "coating",
    "substrate",
    "active",
    "binder",
    "conductor",
    "collector",
    "cathode",
    "anode",
    "separator",
    "electrolyte",
    "case",
]
PARAMETERS = ("temperature", "duration", "loading", "rate", "ramp", "per")
PROPERTIES = ("colour", "drop_volume", "areal_loading", "yield", "note", "active_mass")


def bench_template(name: str, item_types: list[dict[str, Any]], version: int = 1) -> dict[str, Any]:
    made_types = [t["name"] for t in item_types if t["kind"] != "lot"]
    return {
        "name": name,
        "version": version,
        "title": f"{name}, version {version} (tests)",
        "parameters": [
            {"name": "temperature", "unit": "degC", "required": False},
            {"name": "duration", "unit": "h", "required": False},
            {"name": "loading", "unit": "mg/cm**2", "required": False},
            {"name": "rate", "unit": "mA/g", "required": False},
            {"name": "ramp", "unit": "K/min", "required": False},
            {"name": "per", "unit": "1/h", "required": False},
            {"name": "sonication", "kind": "text", "required": False},
            {"name": "atmosphere", "kind": "text", "required": False},
        ],
        "inputs": [
            {"role": role, "types": [t["name"] for t in item_types], "min_count": 0, "max_count": None}
            for role in ROLES
        ],
        "outputs": [
            {
                "types": made_types,
                "min_count": 0,
                "max_count": None,
                "properties": [{"name": p, "required": False} for p in PROPERTIES],
            }
        ],
    }


def publish_bench(admin: TestClient, *protocols: str) -> None:
    """Publish the bench protocols (all of them by default), e.g. "bench-synthesis@2" for a second version."""
    item_types = admin.get("/item-types").json()
    for ref in protocols or BENCH:
        name, version = ref.split("@")
        response = admin.post("/templates", json=bench_template(name, item_types, int(version)))
        assert response.status_code == 201, response.text


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
    """An item or step as recorded, without the signatures a GET adds (the signatures suite checks those)."""
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


def publish_bench_over_http(api_url: str, admin_token: str, *protocols: str) -> None:
    """publish_bench against a real server process (its API base URL), as the admin."""
    import httpx

    with httpx.Client(
        base_url=api_url, headers={"Authorization": f"Bearer {admin_token}"}, timeout=60
    ) as admin:
        publish_bench(admin, *protocols)  # type: ignore[arg-type]  # httpx.Client answers like a TestClient
