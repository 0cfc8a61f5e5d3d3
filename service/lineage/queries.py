"""The recursive CTEs that walk item_links in the database, identical on SQLite and PostgreSQL."""

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import bindparam, text
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


def _traced(direction: Direction, max_depth: int | None) -> str:
    """The CTE `found`: the item with code :code at depth 0 and every item it reaches, with what a node
    shows; `listed(id)` is `found` filtered (see _listed_if).

    Written so the plan does not hinge on table statistics, which PostgreSQL lacks right after a bulk
    import: the root is a scalar subquery, so the closure is read by its index for one constant; `found` is
    MATERIALIZED, so a kind or type filter applies to the reached items and never becomes the plan's
    starting point (an index scan of every cell, each matched against every reached item)."""
    mine, other = ("descendant_id", "ancestor_id") if direction == "up" else ("ancestor_id", "descendant_id")
    limit = "" if max_depth is None else "AND a.depth <= :max_depth"
    return f"""
        WITH reached(id, depth) AS (
            SELECT id, 0 FROM items WHERE code = :code
            UNION ALL
            SELECT a.{other}, a.depth FROM item_ancestry a
            WHERE a.{mine} = (SELECT id FROM items WHERE code = :code) {limit}
        ),
        found AS MATERIALIZED (
            SELECT r.id, r.depth, i.code, i.kind, t.name AS type_name, i.name, i.status
            FROM reached r JOIN items i ON i.id = r.id JOIN item_types t ON t.id = i.type_id
        )
    """


def _listed_if(kind: str | None, type_name: str | None) -> str:
    """The condition on `found` keeping the items of `kind` / `type_name` (the caller binds :kind, :type)."""
    conditions = []
    if kind is not None:
        conditions.append("kind = :kind")
    if type_name is not None:
        conditions.append("type_name = :type")
    return " AND ".join(conditions) or "1 = 1"


def _listed(kind: str | None, type_name: str | None) -> str:
    return f", listed(id, code) AS (SELECT id, code FROM found WHERE {_listed_if(kind, type_name)})"


def reachable_items(
    session: Session, root_id: int, direction: Direction, max_depth: int | None
) -> list[NodeRow]:
    """Every item reached from `root_id` (the root itself at depth 0), nearest first: what origins, the
    grouping of test runs by batch and an item's audit excerpt need."""
    sql = (
        _reached(direction, max_depth)
        + """
        SELECT i.id, i.code, i.kind, t.name AS type, i.name, i.status, r.depth
        FROM reached r JOIN items i ON i.id = r.id JOIN item_types t ON t.id = i.type_id
        ORDER BY r.depth, i.code
    """
    )
    rows = session.execute(text(sql), {"root": root_id, "max_depth": max_depth}).all()
    return [NodeRow(*row) for row in rows]


def steps_between(session: Session, item_ids: list[int]) -> list[int]:
    """The steps whose links join two of these items (both ends among them)."""
    if not item_ids:
        return []
    sql = text(
        "SELECT DISTINCT step_id FROM item_links WHERE child_id IN :ids AND parent_id IN :ids"
        " ORDER BY step_id"
    ).bindparams(bindparam("ids", expanding=True))
    return [row[0] for row in session.execute(sql, {"ids": item_ids})]


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
    listed = _listed_if(kind, type_name)
    sql = (
        _traced(direction, max_depth)
        + f"""
        SELECT id, code, kind, type_name, name, status, depth, CASE WHEN {listed} THEN 1 ELSE 0 END
        FROM found WHERE depth = 0 OR ({listed})
        ORDER BY depth, code
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


def _is_of(kind: str | None, type_name: str | None, item: str) -> str:
    """SQL tests that `item` (an id expression) is of `kind` / `type_name`, each a primary-key probe."""
    tests = ""
    if kind is not None:
        tests += f" AND (SELECT i.kind FROM items i WHERE i.id = {item}) = :kind"
    if type_name is not None:
        tests += (
            f" AND (SELECT t.name FROM items i JOIN item_types t ON t.id = i.type_id WHERE i.id = {item})"
            " = :type"
        )
    return tests


def traced_links(
    session: Session,
    code: str,
    direction: Direction,
    max_depth: int | None,
    kind: str | None = None,
    type_name: str | None = None,
) -> list[tuple]:
    """The active links whose both ends are listed: TraceRows.links, by ids (the nodes know the codes).

    Each listed child's links are read by index, and their parents checked by primary-key probes (of the
    closure, and of the parent's kind or type). Matching the parents against `listed` instead made SQLite
    probe every listed pair (a CTE has no index): 0.3 M probes, 150 ms, for a recall at 10k cells; joining
    the parents' items let PostgreSQL start from an index scan of every item of the kind. The kind or type
    comes first: in a recall of cells it already rules out every parent."""
    sql = (
        _traced(direction, max_depth)
        + _listed(kind, type_name)
        + f"""
        SELECT DISTINCT l.parent_id, l.child_id, l.step_id, s.protocol, l.role, s.deviating
        FROM listed c
        JOIN item_links l ON l.child_id = c.id
        JOIN steps s ON s.id = l.step_id
        WHERE l.active {_is_of(kind, type_name, "l.parent_id")}
        AND {_reached_by(direction, max_depth, "l.parent_id")}
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
        _traced(direction, max_depth)
        + _listed(kind, type_name)
        + """
        SELECT 'test' AS what, x.code AS item, r.id AS id, r.protocol, r.status,
            CAST(NULL AS DATE) AS entry_date  -- PostgreSQL types a bare NULL here as text, not date
        FROM listed x JOIN test_runs r ON r.item_id = x.id AND r.status <> 'voided'
        UNION ALL
        SELECT 'analysis', x.code, a.id, a.technique, a.title, NULL
        FROM listed x JOIN analysis_subjects s ON s.item_id = x.id JOIN analyses a ON a.id = s.analysis_id
            AND a.status <> 'voided'
        UNION ALL
        SELECT 'entry', k.record_id, e.id, e.title, u.username, e.entry_date
        FROM entry_links k
        JOIN entries e ON e.id = k.entry_id AND e.status = 'active'
        JOIN users u ON u.id = e.author_id
        WHERE k.record_type = 'item' AND k.record_id IN (SELECT code FROM listed)
        ORDER BY what, entry_date, item, id
    """
    )
    return [tuple(row) for row in session.execute(text(sql), _params(code, max_depth, kind, type_name))]


def _probe_by_index(session: Session) -> None:
    """PostgreSQL: no hash or merge joins and no sequential scans for the rest of this transaction. A
    lineage answer is index probes at any scale, but without fresh statistics (right after a bulk import)
    the planner guesses large row counts and hash-joins full scans of items and links instead: 100 ms
    rather than 1 ms for a recall at 1k cells, worse as the tables grow. SQLite has no such joins."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_INDEX_PROBES_ONLY)


_INDEX_PROBES_ONLY = text(
    "SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true), "
    "set_config('enable_seqscan', 'off', true)"
)


def trace_rows(
    session: Session,
    code: str,
    direction: Direction,
    max_depth: int | None,
    kind: str | None = None,
    type_name: str | None = None,
    nodes_only: bool = False,
) -> TraceRows | None:
    """All of a lineage answer in three statements (only the first with `nodes_only`), or None when there is
    no item `code`."""
    _probe_by_index(session)
    nodes = traced_nodes(session, code, direction, max_depth, kind, type_name)
    if not nodes:
        return None
    if nodes_only:
        return TraceRows(nodes, [], [])
    listed = sum(1 for node in nodes if node[7])
    # Links and records need listed items: a filter that keeps none has none to look for.
    links = traced_links(session, code, direction, max_depth, kind, type_name) if listed > 1 else []
    records = traced_records(session, code, direction, max_depth, kind, type_name) if listed else []
    return TraceRows(nodes, links, records)
