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
    conditions = []
    if kind is not None:
        conditions.append(f"{alias}.kind = :kind")
    if type_name is not None:
        conditions.append(f"{type_alias}.name = :type")
    return "".join(f" AND {c}" for c in conditions)


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


def links_between(
    session: Session,
    root_id: int,
    direction: Direction,
    max_depth: int | None,
    kind: str | None = None,
    type_name: str | None = None,
) -> list[EdgeRow]:
    """The active links whose both ends were reached (and are of `kind` / `type_name` when given)."""
    # Only links between listed items are wanted, so the filter applies to the reached set first: a recall of
    # the cells from a lot then joins the links of 5,000 cells, not of every batch and anode in between.
    sql = (
        _reached(direction, max_depth)
        + f""",
        listed(id) AS (
            SELECT r.id FROM reached r JOIN items i ON i.id = r.id JOIN item_types t ON t.id = i.type_id
            WHERE 1 = 1 {_only(kind, type_name, "i", "t")}
        )
        SELECT DISTINCT p.code, c.code, l.step_id, s.protocol, l.role, s.deviating
        FROM item_links l
        JOIN listed rp ON rp.id = l.parent_id
        JOIN listed rc ON rc.id = l.child_id
        JOIN items p ON p.id = l.parent_id
        JOIN items c ON c.id = l.child_id
        JOIN steps s ON s.id = l.step_id
        WHERE l.active
        ORDER BY l.step_id, p.code, c.code
    """
    )
    params = {"root": root_id, "max_depth": max_depth, "kind": kind, "type": type_name}
    rows = session.execute(text(sql), params).all()
    return [
        EdgeRow(source=s, target=t, step=step, protocol=protocol, role=role, deviating=bool(deviating))
        for s, t, step, protocol, role, deviating in rows
    ]


def attached_records(session: Session, item_ids: list[int]) -> tuple[list[tuple], list[tuple]]:
    """Test runs and analyses of the given items: (id, item code, protocol|technique, status|title) rows."""
    if not item_ids:
        return [], []
    tests = text(
        """
        SELECT r.id, i.code, r.protocol, r.status FROM test_runs r JOIN items i ON i.id = r.item_id
        WHERE r.item_id IN :ids ORDER BY i.code, r.id
        """
    ).bindparams(bindparam("ids", expanding=True))
    analyses = text(
        """
        SELECT a.id, i.code, a.technique, a.title FROM analysis_subjects s
        JOIN analyses a ON a.id = s.analysis_id JOIN items i ON i.id = s.item_id
        WHERE s.item_id IN :ids ORDER BY i.code, a.id
        """
    ).bindparams(bindparam("ids", expanding=True))
    return (
        [tuple(row) for row in session.execute(tests, {"ids": item_ids}).all()],
        [tuple(row) for row in session.execute(analyses, {"ids": item_ids}).all()],
    )
