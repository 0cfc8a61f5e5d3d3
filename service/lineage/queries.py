"""The recursive CTEs that walk item_links in the database, identical on SQLite and PostgreSQL."""

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import text
from sqlmodel import Session

Direction = Literal["up", "down"]


@dataclass(frozen=True)
class NodeRow:
    id: int
    code: str
    kind: str
    type: str
    name: str | None
    status: str
    depth: int


@dataclass(frozen=True)
class EdgeRow:
    source: str
    target: str
    step: int
    protocol: str
    role: str
    deviating: bool


def walk_sql(direction: Direction, max_depth: int | None) -> str:
    """The CTE `reached(id, depth)` as a recursive walk over item_links: the reference the closure is
    checked against in the tests, and the "bare recursive CTE" baseline of the benchmarks.

    UNION (not UNION ALL) drops repeated (item, depth) pairs, so diamonds - one lot reaching a cell along
    two paths - cost one row per distinct depth, not one per path. The CAST matters on PostgreSQL: psycopg
    sends a small Python int as smallint, and the recursive term must keep the anchor's column type.
    """
    step_to, step_from = ("parent_id", "child_id") if direction == "up" else ("child_id", "parent_id")
    limit = "" if max_depth is None else "AND w.depth < :max_depth"
    return f"""
        WITH RECURSIVE walk(id, depth) AS (
            SELECT CAST(:root AS INTEGER), 0
            UNION
            SELECT l.{step_to}, w.depth + 1
            FROM walk w JOIN item_links l ON l.{step_from} = w.id
            WHERE l.active {limit}
        ),
        reached AS (SELECT id, MIN(depth) AS depth FROM walk GROUP BY id)
    """


def _reached(direction: Direction, max_depth: int | None) -> str:
    """The CTE `reached(id, depth)` read from the ancestry closure: one index range, no walk."""
    mine, other = ("descendant_id", "ancestor_id") if direction == "up" else ("ancestor_id", "descendant_id")
    limit = "" if max_depth is None else "AND a.depth <= :max_depth"
    return f"""
        WITH reached(id, depth) AS (
            SELECT CAST(:root AS INTEGER), 0
            UNION ALL
            SELECT a.{other}, a.depth FROM item_ancestry a WHERE a.{mine} = :root {limit}
        )
    """


def _only(kind: str | None, type_name: str | None, alias: str, type_alias: str) -> str:
    """SQL conditions keeping only items of this kind and/or type (the caller binds :kind and :type)."""
    return "".join(f" AND {c}" for c in _conditions(kind, type_name, alias, type_alias))


def _conditions(kind: str | None, type_name: str | None, alias: str, type_alias: str) -> list[str]:
    conditions = []
    if kind is not None:
        conditions.append(f"{alias}.kind = :kind")
    if type_name is not None:
        conditions.append(f"{type_alias}.name = :type")
    return conditions


def _traced(direction: Direction, max_depth: int | None, kind: str | None, type_name: str | None) -> str:
    """The CTEs `reached(id, depth)` from the item with code :code, and `listed(id)`: those of `kind` /
    `type_name` when given. The root is looked up inside the statement, so an answer costs no extra round
    trip; as a scalar subquery its id is a constant to the planner, which then reads the closure by its
    index whatever the table statistics say."""
    mine, other = ("descendant_id", "ancestor_id") if direction == "up" else ("ancestor_id", "descendant_id")
    limit = "" if max_depth is None else "AND a.depth <= :max_depth"
    conditions = _conditions(kind, type_name, "i", "t")
    listed = (
        "SELECT r.id FROM reached r JOIN items i ON i.id = r.id JOIN item_types t ON t.id = i.type_id "
        f"WHERE {' AND '.join(conditions)}"
        if conditions
        else "SELECT id FROM reached"
    )
    return f"""
        WITH reached(id, depth) AS (
            SELECT id, 0 FROM items WHERE code = :code
            UNION ALL
            SELECT a.{other}, a.depth FROM item_ancestry a
            WHERE a.{mine} = (SELECT id FROM items WHERE code = :code) {limit}
        ),
        listed(id) AS ({listed})
    """


def reachable_items(
    session: Session,
    root_id: int,
    direction: Direction,
    max_depth: int | None,
    kind: str | None = None,
    type_name: str | None = None,
) -> list[NodeRow]:
    """The reached items (the root at depth 0), only those of `kind` / `type_name` when given: filtering in
    the database, a recall of "cells from this lot" does not carry every batch and anode in between."""
    sql = (
        _reached(direction, max_depth)
        + f"""
        SELECT i.id, i.code, i.kind, t.name AS type, i.name, i.status, r.depth
        FROM reached r JOIN items i ON i.id = r.id JOIN item_types t ON t.id = i.type_id
        WHERE 1 = 1 {_only(kind, type_name, "i", "t")}
        ORDER BY r.depth, i.code
    """
    )
    params = {"root": root_id, "max_depth": max_depth, "kind": kind, "type": type_name}
    rows = session.execute(text(sql), params).all()
    return [NodeRow(*row) for row in rows]


@dataclass(frozen=True)
class TraceRows:
    """What a lineage answer is made of, as the database gave it. `nodes` lists the root first even when
    the filter leaves it out (its `listed` is then false); no nodes means there is no such item."""

    nodes: list[tuple]  # id, code, kind, type, name, status, depth, listed
    links: list[tuple]  # parent id, child id, step, protocol, role, deviating
    records: list[tuple]  # what ('analysis' | 'entry' | 'test'), item code, id, text, text, entry date


def _params(code: str, max_depth: int | None, kind: str | None, type_name: str | None) -> dict:
    return {"code": code, "max_depth": max_depth, "kind": kind, "type": type_name}


def traced_nodes(
    session: Session,
    code: str,
    direction: Direction,
    max_depth: int | None,
    kind: str | None = None,
    type_name: str | None = None,
) -> list[tuple]:
    """The root (always) and the listed items it reaches, nearest first: TraceRows.nodes."""
    listed = " AND ".join(_conditions(kind, type_name, "i", "t")) or "1 = 1"
    sql = (
        _traced(direction, max_depth, kind, type_name)
        + f"""
        SELECT i.id, i.code, i.kind, t.name, i.name, i.status, r.depth, CASE WHEN {listed} THEN 1 ELSE 0 END
        FROM reached r JOIN items i ON i.id = r.id JOIN item_types t ON t.id = i.type_id
        WHERE r.depth = 0 OR ({listed})
        ORDER BY r.depth, i.code
    """
    )
    return [tuple(row) for row in session.execute(text(sql), _params(code, max_depth, kind, type_name))]


def _reached_by(direction: Direction, max_depth: int | None, item: str) -> str:
    """An SQL test that `item` (an id expression) is reached from the item with code :code, answered by one
    primary-key probe of the closure."""
    root = "(SELECT id FROM items WHERE code = :code)"
    limit = "" if max_depth is None else " AND a.depth <= :max_depth"
    if direction == "up":
        pair = f"a.descendant_id = {root} AND a.ancestor_id = {item}"
        return f"EXISTS (SELECT 1 FROM item_ancestry a WHERE {pair}{limit})"
    pair = f"a.descendant_id = {item} AND a.ancestor_id = {root}"
    return f"({item} = {root} OR EXISTS (SELECT 1 FROM item_ancestry a WHERE {pair}{limit}))"


def traced_links(
    session: Session,
    code: str,
    direction: Direction,
    max_depth: int | None,
    kind: str | None = None,
    type_name: str | None = None,
) -> list[tuple]:
    """The active links whose both ends are listed: TraceRows.links, by ids (the nodes know the codes).

    Each listed child's links are read by index, and their parents checked against the closure by primary
    key. Matching the parents against `listed` instead made SQLite probe every listed pair (a CTE has no
    index): 0.3 M probes, 150 ms, for a recall at 10k cells."""
    filtered = kind is not None or type_name is not None
    parent = "JOIN items p ON p.id = l.parent_id JOIN item_types pt ON pt.id = p.type_id" if filtered else ""
    reached = _reached_by(direction, max_depth, "l.parent_id")
    sql = (
        _traced(direction, max_depth, kind, type_name)
        + f"""
        SELECT DISTINCT l.parent_id, l.child_id, l.step_id, s.protocol, l.role, s.deviating
        FROM listed c
        JOIN item_links l ON l.child_id = c.id
        JOIN steps s ON s.id = l.step_id
        {parent}
        WHERE l.active AND {reached} {_only(kind, type_name, "p", "pt")}
    """
    )
    return [tuple(row) for row in session.execute(text(sql), _params(code, max_depth, kind, type_name))]


def traced_records(
    session: Session,
    code: str,
    direction: Direction,
    max_depth: int | None,
    kind: str | None = None,
    type_name: str | None = None,
) -> list[tuple]:
    """Everything recorded about the listed items, in one statement: their test runs (protocol, status),
    the analyses describing them (technique, title) and the active notebook entries about them (title,
    author, date). Test runs and analyses come by item code then id, entries by date then id."""
    sql = (
        _traced(direction, max_depth, kind, type_name)
        + """
        SELECT 'test' AS what, i.code AS item, r.id AS id, r.protocol, r.status,
            CAST(NULL AS DATE) AS entry_date  -- PostgreSQL types a bare NULL here as text, not date
        FROM listed x JOIN test_runs r ON r.item_id = x.id JOIN items i ON i.id = x.id
        UNION ALL
        SELECT 'analysis', i.code, a.id, a.technique, a.title, NULL
        FROM listed x JOIN analysis_subjects s ON s.item_id = x.id JOIN analyses a ON a.id = s.analysis_id
        JOIN items i ON i.id = x.id
        UNION ALL
        SELECT 'entry', i.code, e.id, e.title, u.username, e.entry_date
        FROM listed x JOIN items i ON i.id = x.id
        JOIN entry_links k ON k.record_type = 'item' AND k.record_id = i.code
        JOIN entries e ON e.id = k.entry_id AND e.status = 'active'
        JOIN users u ON u.id = e.author_id
        ORDER BY what, entry_date, item, id
    """
    )
    return [tuple(row) for row in session.execute(text(sql), _params(code, max_depth, kind, type_name))]


def trace_rows(
    session: Session,
    code: str,
    direction: Direction,
    max_depth: int | None,
    kind: str | None = None,
    type_name: str | None = None,
) -> TraceRows | None:
    """All of a lineage answer in three statements, or None when there is no item `code`."""
    nodes = traced_nodes(session, code, direction, max_depth, kind, type_name)
    if not nodes:
        return None
    listed = sum(1 for node in nodes if node[7])
    # Links and records need listed items: a filter that keeps none has none to look for.
    links = traced_links(session, code, direction, max_depth, kind, type_name) if listed > 1 else []
    records = traced_records(session, code, direction, max_depth, kind, type_name) if listed else []
    return TraceRows(nodes, links, records)
