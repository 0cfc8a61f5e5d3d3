"""Upstream lineage of a random cell, downstream recall of a random FeCl3 lot: over HTTP and as bare SQL."""

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, text

from bench.context import Context
from bench.generate import LOTS_PER_KIND, cell_code, lot_code
from bench.stats import ratio, timings
from service.lineage.queries import _reached, walk_sql

UP_CTE = walk_sql("up", None) + "SELECT r.id, r.depth FROM reached r"
RECALL_CTE = walk_sql("down", None) + (
    "SELECT r.id, r.depth FROM reached r JOIN items i ON i.id = r.id WHERE i.kind = 'cell'"
)
UP_CLOSURE = _reached("up", None) + "SELECT r.id, r.depth FROM reached r"
RECALL_CLOSURE = _reached("down", None) + (
    "SELECT r.id, r.depth FROM reached r JOIN items i ON i.id = r.id WHERE i.kind = 'cell'"
)


def _ids(ctx: Context, codes: list[str]) -> dict[str, int]:
    with ctx.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT code, id FROM items WHERE code IN :codes").bindparams(
                bindparam("codes", expanding=True)
            ),
            {"codes": sorted(set(codes))},
        ).all()
    return dict(rows)


def _time_http(ctx: Context, paths: list[str], params: dict[str, str]) -> tuple[list[float], int]:
    durations, nodes = [], 0
    with ctx.client() as client:
        for path in paths[:5]:  # warm the connection and the server's caches
            client.get(path, params=params)
        for path in paths:
            started = time.perf_counter()
            response = client.get(path, params=params)
            body = response.content
            durations.append(time.perf_counter() - started)
            assert response.status_code == 200, body[:300]
            nodes += len(response.json()["nodes"])
    return durations, nodes


def _time_sql(ctx: Context, sql: str, ids: list[int]) -> tuple[list[float], int]:
    durations, rows = [], 0
    with ctx.engine.connect() as connection:
        statement = text(sql)
        for root in ids[:5]:
            connection.execute(statement, {"root": root}).all()
        for root in ids:
            started = time.perf_counter()
            found = connection.execute(statement, {"root": root}).all()
            durations.append(time.perf_counter() - started)
            rows += len(found)
        connection.rollback()
    return durations, rows


def explain(ctx: Context, sql: str, root: int) -> list[str]:
    """The plan and its timing, as the database ran it (PostgreSQL: EXPLAIN ANALYZE)."""
    prefix = (
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) "
        if ctx.engine_name == "postgresql"
        else ("EXPLAIN QUERY PLAN ")
    )
    with ctx.engine.connect() as connection:
        rows = connection.execute(text(prefix + sql), {"root": root}).all()
    return [" ".join(str(c) for c in row) for row in rows]


def _measure(
    ctx: Context, codes: list[str], params: dict[str, str], cte: str, closure: str
) -> dict[str, Any]:
    ids = _ids(ctx, codes)
    roots = [ids[c] for c in codes]
    http, nodes = _time_http(ctx, [f"/items/{c}/lineage" for c in codes], params)
    bare, rows = _time_sql(ctx, cte, roots)
    read, _ = _time_sql(ctx, closure, roots)
    result: dict[str, Any] = {
        "http": timings(http),
        "bare_cte": timings(bare),
        "closure_sql": timings(read),
        "nodes_per_answer": round(nodes / len(codes), 1),
        "rows_per_cte": round(rows / len(roots), 1),
    }
    result["ratio_p50"] = ratio(result["http"]["p50_ms"], result["bare_cte"]["p50_ms"])
    result["ratio_p99"] = ratio(result["http"]["p99_ms"], result["bare_cte"]["p99_ms"])
    result["plans"] = {"bare_cte": explain(ctx, cte, roots[0]), "closure": explain(ctx, closure, roots[0])}
    return result


def upstream(ctx: Context) -> dict[str, Any]:
    n = 200 if ctx.quick else 1000
    codes = [cell_code(ctx.rng.randint(1, ctx.shape.cells)) for _ in range(n)]
    return _measure(ctx, codes, {"direction": "up"}, UP_CTE, UP_CLOSURE)


def recall(ctx: Context) -> dict[str, Any]:
    """The cells of a lot (`include=nodes`, what `cellprov trace --down LOT --kind cell` asks) and, apart,
    the whole answer with every cell's test run and analyses: three records per cell that the bare query,
    which lists cells, does not read."""
    n = 40 if ctx.quick else 200
    codes = [lot_code("FeCl3·6H2O", ctx.rng.randint(1, LOTS_PER_KIND)) for _ in range(n)]
    cells = {"direction": "down", "kind": "cell"}
    result = _measure(ctx, codes, {**cells, "include": "nodes"}, RECALL_CTE, RECALL_CLOSURE)
    whole, _ = _time_http(ctx, [f"/items/{c}/lineage" for c in codes[: n // 4]], cells)
    result["http_whole_answer"] = timings(whole)
    return result


WORKLOADS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "lineage_up": upstream,
    "recall_down": recall,
}
