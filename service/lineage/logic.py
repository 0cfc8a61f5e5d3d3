"""Lineage answers built from the graph queries: filtered node lists, edges, nearest origins."""

from itertools import groupby
from typing import Any

from sqlmodel import Session

from schemas import ItemKind, ItemStatus, Lineage, LineageNode, LineageParts, Origin, OriginGroup
from service.errors import NotFound
from service.items.logic import get_item
from service.lineage.queries import Direction, NodeRow, reachable_items, steps_between, trace_rows


def _node(row: NodeRow) -> LineageNode:
    return LineageNode(
        code=row.code,
        kind=ItemKind(row.kind),
        type=row.type,
        name=row.name,
        status=ItemStatus(row.status),
        depth=row.depth,
    )


def lineage_records(session: Session, code: str) -> tuple[list[str], list[int]]:
    """The codes of the item and of everything up- and downstream of it, and the steps linking them: the
    records whose audit events make up the item's lineage (`GET /audit?lineage_of=`)."""
    root = get_item(session, code).id
    assert root is not None  # a stored item has its id
    rows = reachable_items(session, root, "up", None) + reachable_items(session, root, "down", None)
    return sorted({r.code for r in rows}), steps_between(session, sorted({r.id for r in rows}))


def trace_document(
    session: Session,
    code: str,
    direction: Direction,
    max_depth: int | None = None,
    kind: ItemKind | None = None,
    type_name: str | None = None,
    include: LineageParts = "all",
) -> dict[str, Any]:
    """The items upstream or downstream of `code`, and the links between them, as plain values shaped
    exactly like `schemas.Lineage`: a recall lists thousands of cells, and building a model per node only to
    serialise it again cost more than the queries.

    With `kind` or `type` only matching items are listed (the root too only if it matches), and only the
    links between listed items: `trace --down LOT --kind cell` answers "which cells came from this lot".
    With `include="nodes"` only the items are looked up: a recall's 5,000 cells without their 15,000 test
    runs and analyses.
    """
    kind_name = kind.value if kind else None
    rows = trace_rows(session, code, direction, max_depth, kind_name, type_name, include == "nodes")
    if rows is None:
        raise NotFound(f"no item with code {code!r}")
    codes = {node[0]: node[1] for node in rows.nodes}
    edges = sorted(
        (
            {
                "source": codes[parent],
                "target": codes[child],
                "step": step,
                "protocol": protocol,
                "role": role,
                "deviating": bool(deviating),
            }
            for parent, child, step, protocol, role, deviating in rows.links
        ),
        key=lambda e: (e["step"], e["source"], e["target"]),
    )
    tests: list[dict[str, Any]] = []
    analyses: list[dict[str, Any]] = []
    entries: dict[str, list[dict[str, Any]]] = {}
    for what, item, record_id, first, second, entry_date in rows.records:
        if what == "test":
            tests.append({"id": record_id, "item": item, "protocol": first, "status": second})
        elif what == "analysis":
            analyses.append({"id": record_id, "item": item, "technique": first, "title": second})
        else:
            # The date as PostgreSQL's date or SQLite's ISO text: the same once in JSON or a model.
            ref = {"id": record_id, "title": first, "date": entry_date, "author": second}
            entries.setdefault(item, []).append(ref)
    return {
        "root": code,
        "direction": direction,
        "max_depth": max_depth,
        "include": include,
        "nodes": [
            {"code": c, "kind": k, "type": t, "name": n, "status": s, "depth": d}
            for _, c, k, t, n, s, d, listed in rows.nodes
            if listed
        ],
        "edges": edges,
        "tests": tests,
        "analyses": analyses,
        "entries": entries,
    }


def trace(
    session: Session,
    code: str,
    direction: Direction,
    max_depth: int | None = None,
    kind: ItemKind | None = None,
    type_name: str | None = None,
) -> Lineage:
    """trace_document as a `Lineage`, for the renderers, the browser view and exports."""
    return Lineage.model_validate(trace_document(session, code, direction, max_depth, kind, type_name))


def origin(session: Session, code: str) -> Origin:
    """For each item type upstream of `code`, the ancestors of that type closest to it: the MOF@CoPc batch
    that went into a cell, the FeCl3 lot behind that batch, and so on."""
    root = get_item(session, code)
    assert root.id is not None
    ancestors = [r for r in reachable_items(session, root.id, "up", None) if r.depth > 0]
    groups = []
    for type_name, rows in groupby(
        sorted(ancestors, key=lambda r: (r.type, r.depth, r.code)), key=lambda r: r.type
    ):
        of_type = list(rows)
        nearest = of_type[0].depth
        groups.append(
            OriginGroup(
                type=type_name, depth=nearest, items=[_node(r) for r in of_type if r.depth == nearest]
            )
        )
    groups.sort(key=lambda g: (g.depth, g.type))
    return Origin(root=code, origins=groups)
