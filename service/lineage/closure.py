"""Keeping the ancestry closure current inside the step's own transaction."""

from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlmodel import Session

# A new item's ancestors: its inputs at distance 1, and each input's ancestors one step further, each pair
# at its shortest distance. The inputs' own rows are complete already: they were written with their steps.
_EXTEND = text("""
    INSERT INTO item_ancestry (descendant_id, ancestor_id, depth)
    SELECT child_id, ancestor_id, MIN(depth) FROM (
        SELECT l.child_id, l.parent_id AS ancestor_id, 1 AS depth
        FROM item_links l WHERE l.child_id IN :children AND l.active
        UNION ALL
        SELECT l.child_id, a.ancestor_id, a.depth + 1
        FROM item_links l JOIN item_ancestry a ON a.descendant_id = l.parent_id
        WHERE l.child_id IN :children AND l.active
    ) AS pairs
    GROUP BY child_id, ancestor_id
""").bindparams(bindparam("children", expanding=True))

_DROP = text("DELETE FROM item_ancestry WHERE descendant_id IN :children").bindparams(
    bindparam("children", expanding=True)
)


def extend_ancestry(session: Session, made: Sequence[int]) -> None:
    if made:
        session.execute(_EXTEND, {"children": list(made)})


def drop_ancestry(session: Session, made: Sequence[int]) -> None:
    """The pairs of a voided step's outputs; those outputs have no descendants (voiding checks that)."""
    if made:
        session.execute(_DROP, {"children": list(made)})
