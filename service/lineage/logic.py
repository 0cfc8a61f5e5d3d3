"""Lineage answers built from the graph queries: filtered node lists, edges, nearest origins."""

from itertools import groupby

from sqlmodel import Session

from schemas import (
    ItemKind,
    ItemStatus,
    Lineage,
    LineageAnalysis,
    LineageEdge,
    LineageNode,
    LineageTest,
    Origin,
    OriginGroup,
)
from service.entries.logic import entries_linked_to
from service.items.logic import get_item
from service.lineage.queries import Direction, NodeRow, attached_records, links_between, reachable_items


def _node(row: NodeRow) -> LineageNode:
    return LineageNode(
        code=row.code,
        kind=ItemKind(row.kind),
        type=row.type,
        name=row.name,
        status=ItemStatus(row.status),
        depth=row.depth,
    )


def trace(
    session: Session,
    code: str,
    direction: Direction,
    max_depth: int | None = None,
    kind: ItemKind | None = None,
    type_name: str | None = None,
) -> Lineage:
    """The items upstream or downstream of `code`, and the links between them.

    With `kind` or `type` only matching items are listed (the root too only if it matches), and only the
    links between listed items: `trace --down LOT --kind cell` answers "which cells came from this lot".
    """
    root = get_item(session, code)
    assert root.id is not None
    only = kind.value if kind is not None else None
    rows = reachable_items(session, root.id, direction, max_depth, only, type_name)
    nodes = [_node(r) for r in rows]
    # Links need two listed ends: with a filter that keeps one item or none, there are none to look for.
    found = links_between(session, root.id, direction, max_depth, only, type_name) if len(nodes) > 1 else []
    edges = [
        LineageEdge(
            source=e.source,
            target=e.target,
            step=e.step,
            protocol=e.protocol,
            role=e.role,
            deviating=e.deviating,
        )
        for e in found
    ]
    tests, analyses = attached_records(session, [r.id for r in rows])
    return Lineage(
        root=code,
        direction=direction,
        max_depth=max_depth,
        nodes=nodes,
        edges=edges,
        tests=[LineageTest(id=t[0], item=t[1], protocol=t[2], status=t[3]) for t in tests],
        analyses=[LineageAnalysis(id=a[0], item=a[1], technique=a[2], title=a[3]) for a in analyses],
        entries=entries_linked_to(session, "item", [n.code for n in nodes]),
    )


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
