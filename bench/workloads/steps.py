"""Template-validated step logging by 1, 4 and 16 concurrent clients, vs a bare FastAPI echo of the JSON."""

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from bench.context import Context
from bench.generate import MOF_PARAMETERS
from bench.server import serve
from bench.stats import ratio, timings

CONCURRENCY = (1, 4, 16)
WORKERS = (1, 2)  # uvicorn processes, compared at the highest concurrency
STOCK = {  # per client: enough for any run
    "FeCl3·6H2O": "10 kg",
    "2-aminoterephthalic acid": "5 kg",
    "DMF": "500 L",
    "ethanol": "500 L",
}


def _synthesis(lots: dict[str, str]) -> dict[str, Any]:
    return {
        "protocol": "nh2-mil-101-fe-hydrothermal@1",
        "parameters": MOF_PARAMETERS,
        "inputs": [
            {"role": "iron_source", "item": lots["FeCl3·6H2O"], "amount": "2.75 g"},
            {"role": "linker", "item": lots["2-aminoterephthalic acid"], "amount": "1.105 g"},
            {"role": "solvent", "item": lots["DMF"], "amount": "80 mL"},
            {"role": "wash_solvent", "item": lots["ethanol"], "amount": "40 mL"},
        ],
        "outputs": [{"type": "NH2-MIL-101(Fe)", "quantity": "0.9 g"}],
    }


def _run(
    base_url: str, path: str, headers: dict[str, str], bodies: list[dict[str, Any]], per_client: int
) -> tuple[float, list[float]]:
    """Each client posts its body `per_client` times over one keep-alive connection: wall time, latencies."""

    def client_loop(body: dict[str, Any]) -> list[float]:
        latencies = []
        with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
            for _ in range(per_client):
                started = time.perf_counter()
                response = client.post(path, json=body)
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 201, response.text[:500]
        return latencies

    started = time.perf_counter()
    with ThreadPoolExecutor(len(bodies)) as pool:
        results = list(pool.map(client_loop, bodies))
    return time.perf_counter() - started, [x for r in results for x in r]


def step_logging(ctx: Context) -> dict[str, Any]:
    total = 96 if ctx.quick else 480
    headers = {"Authorization": f"Bearer {ctx.token}"}
    # Each client draws on lots of its own, as lab members mostly do; the audit chain's head is still shared.
    bodies = []
    with ctx.client() as client:
        for _ in range(max(CONCURRENCY)):
            lots = {}
            for type_name, quantity in STOCK.items():
                response = client.post("/lots", json={"type": type_name, "quantity": quantity})
                assert response.status_code == 201, response.text
                lots[type_name] = response.json()["code"]
            bodies.append(_synthesis(lots))
        client.post("/steps", json=bodies[0])  # warm-up
    result: dict[str, Any] = {"steps_total_per_level": total}
    with serve("bench.echo:create_app") as echo:
        for clients in CONCURRENCY:
            result[f"clients_{clients}"] = _level(ctx.url, echo.url, headers, bodies[:clients], total)
    # The same clients and the same one-worker echo, against the service served by one and by two processes.
    clients = max(CONCURRENCY)
    with serve("bench.echo:create_app") as echo:
        result["workers_1"] = _level(ctx.url, echo.url, headers, bodies[:clients], total)
        with serve("service.app:create_app", {"CELLPROV_DATABASE_URL": ctx.db_url}, workers=2) as two:
            result["workers_2"] = _level(two.url, echo.url, headers, bodies[:clients], total)
    for workers in WORKERS:
        result[f"workers_{workers}"]["clients"] = clients
    return result


def _level(
    service_url: str, echo_url: str, headers: dict[str, str], bodies: list[dict[str, Any]], total: int
) -> dict[str, Any]:
    clients = len(bodies)
    per_client = total // clients
    wall, latencies = _run(service_url + "/api/v1", "/steps", headers, bodies, per_client)
    echo_wall, echo_latencies = _run(echo_url, "/echo", headers, bodies, per_client)
    rate, echo_rate = clients * per_client / wall, clients * per_client / echo_wall
    return {
        "steps_per_s": round(rate, 1),
        "latency": timings(latencies),
        "echo_per_s": round(echo_rate, 1),
        "echo_latency": timings(echo_latencies),
        "ratio": ratio(rate, echo_rate),
    }


WORKLOADS = {"step_logging": step_logging}
