"""The markdown table of one run: each workload per database, with its baseline and the ratio to it."""

from collections.abc import Callable
from typing import Any


def _ms(t: dict[str, Any]) -> str:
    return f"{t['p50_ms']:g} / {t['p99_ms']:g} ms"


def _lineage(r: dict[str, Any]) -> str:
    return (
        f"{_ms(r['http'])} — bare CTE {_ms(r['bare_cte'])} — ×{r['ratio_p50']} (p50) "
        f"— {r['nodes_per_answer']:g} nodes"
    )


def _whole_recall(r: dict[str, Any]) -> str:
    return _ms(r["http_whole_answer"])


def _steps(level: str) -> Callable[[dict[str, Any]], str]:
    def cell(r: dict[str, Any]) -> str:
        if level not in r:
            return "not measured"
        c = r[level]
        return (
            f"{c['steps_per_s']:g} steps/s (p50 {c['latency']['p50_ms']:g} ms) — echo {c['echo_per_s']:g}/s "
            f"— ×{c['ratio']}"
        )

    return cell


def _recall_export(fmt: str) -> Callable[[dict[str, Any]], str]:
    def cell(r: dict[str, Any]) -> str:
        e = r[fmt]
        return (
            f"{r['cells']} cells: {e['mib']:g} MiB in {e['seconds']:g} s "
            f"(×{e['times_the_answer']} the lineage answer's {r['answer_s']:g} s); server RSS "
            f"{e['server_rss_mib_before']:g} → peak {e['server_rss_mib_peak']:g} MiB"
        )

    return cell


def _export(r: dict[str, Any]) -> str:
    e = r["export"]
    return (
        f"{e['events_per_s']:,} events/s ({e['events']:,} events, {e['mib']:g} MiB) — SHA-256 of the file "
        f"{e['sha256_events_per_s']:,} events/s — ×{e['ratio_to_sha256']}; server RSS "
        f"{e['server_rss_mib_before']:g} → {e['server_rss_mib_peak']:g} MiB"
    )


def _verify(r: dict[str, Any]) -> str:
    v = r["verify"]
    return (
        f"offline {v['offline_events_per_s']:,}/s (×{v['offline_ratio_to_sha256']}), server "
        f"{v['online_events_per_s']:,}/s (×{v['online_ratio_to_sha256']}) — SHA-256 per event "
        f"{v['sha256_per_event_per_s']:,}/s; ok={v['offline_ok'] and v['online_ok']}"
    )


def _import(r: dict[str, Any]) -> str:
    nodes = f", {r['nodes_per_s']:,} nodes/s with test runs and analyses" if "nodes_per_s" in r else ""
    return (
        f"{r['items_per_s']:,} items/s{nodes} ({r['items']:,} items, {r['audit_events']:,} events, "
        f"{r['seconds']:g} s)"
    )


def _ingestion(r: dict[str, Any]) -> str:
    if "skipped" in r:
        return r["skipped"]
    return (
        f"{r['ingest_rows_per_s']:,} rows/s ({r['rows']:,} rows, {r['mib']:g} MiB, {r['ingest_s']:g} s) — "
        f"fastnda alone {r['fastnda_rows_per_s']:,} rows/s ({r['fastnda_s']:g} s) — ×{r['ratio_to_fastnda']} "
        f"the time; upload alone {r['upload_only_s']:g} s; server RSS {r['server_rss_mib_before']:g} → "
        f"{r['server_rss_mib_peak']:g} MiB"
    )


ROWS: list[tuple[str, str, Callable[[dict[str, Any]], str]]] = [
    ("import", "bulk import through POST /import (target ≥ 2,000 items/s)", _import),
    ("lineage_up", "upstream lineage of a cell, HTTP p50 / p99 (target 2 / 10 ms)", _lineage),
    ("recall_down", "recall: cells from a FeCl3 lot, HTTP p50 / p99 (target p50 30 ms)", _lineage),
    ("recall_down", "recall with each cell's test run and analyses (include=all)", _whole_recall),
    ("recall_export", "recall export of a FeCl3 lot as .eln", _recall_export("eln")),
    ("recall_export", "recall export of a FeCl3 lot as PROV-JSON", _recall_export("prov_json")),
    ("step_logging", "steps, 1 client", _steps("clients_1")),
    ("step_logging", "steps, 4 clients", _steps("clients_4")),
    ("step_logging", "steps, 16 clients (target ≥ 300/s on PostgreSQL)", _steps("clients_16")),
    ("step_logging", "steps, 16 clients, 1 worker (back to back with 2)", _steps("workers_1")),
    ("step_logging", "steps, 16 clients, 2 workers", _steps("workers_2")),
    ("audit", "audit export (target ≥ 100k events/s, flat memory)", _export),
    ("audit", "chain verification (target ≥ 0.5 × SHA-256)", _verify),
    ("cycler_ingestion", "cycler ingestion over HTTP (target ≤ 1.5 × fastnda)", _ingestion),
]


def markdown(run: dict[str, Any]) -> str:
    engines = list(run["results"])
    m = run["machine"]
    versions = ", ".join(f"{e} {run['results'][e]['server_version']}" for e in engines)
    any_shape = run["results"][engines[0]]["shape"]
    lines = [
        f"## {run['scale']} cells{' (quick)' if run['quick'] else ''} — {run['date']}",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM; Python {m['python']}; {versions}"
        + (f"; load average at start {m['load_average_1_5_15']}." if "load_average_1_5_15" in m else "."),
        f"History: {any_shape['cells']:,} cells; {any_shape['nodes']:,} nodes ({any_shape['items']:,} items, "
        f"{any_shape['test_runs']:,} test runs, {any_shape['analyses']:,} analyses), {any_shape['links']:,} "
        f"links, {any_shape['steps']:,} steps.",
        "",
        "| workload | " + " | ".join(engines) + " |",
        "|---|" + "---|" * len(engines),
    ]
    for key, label, cell in ROWS:
        values = []
        for engine in engines:
            result = run["results"][engine].get(key)
            values.append(cell(result) if result else "—")
        lines.append(f"| {label} | " + " | ".join(values) + " |")
    return "\n".join(lines) + "\n"
