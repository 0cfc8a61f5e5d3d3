"""Keeping the ancestry closure current inside the step's own transaction."""

from collections.abc import Mapping, Sequence

from sqlalchemy import bindparam, text
from sqlmodel import Session, col, select

from service.lineage.tables import ItemAncestry
from service.work import insert_later, insert_queued, work_of

_PAIRS = select(ItemAncestry.descendant_id, ItemAncestry.ancestor_id, ItemAncestry.depth).where(
    col(ItemAncestry.descendant_id).in_(bindparam("items", expanding=True))
)
_DROP = text("DELETE FROM item_ancestry WHERE descendant_id IN :children").bindparams(
    bindparam("children", expanding=True)
)


def _ancestors_of(session: Session, items: set[int]) -> dict[int, dict[int, int]]:
    """Ancestor -> distance of each item, read once per transaction (an item's ancestors never change)."""
    # As this transaction knows them: an import makes items from items it made a moment ago, whose pairs
    # are only queued, not yet in the table.
    known = work_of(session).ancestors
    unread = [item for item in items if item not in known]
    if unread:
        for item in unread:
            known[item] = {}
        rows = session.connection().execute(_PAIRS, {"items": unread}).all()
        for descendant, ancestor, depth in rows:
            known[descendant][ancestor] = depth
    return known


def extend_ancestry(session: Session, made: Mapping[int, Sequence[int]]) -> None:
    """Add the pairs of new items (item -> its inputs): each input at distance 1, and each input's ancestors
    one step further, every pair at its shortest distance. The inputs' own pairs are complete already: they
    were written with their steps."""
    known = _ancestors_of(session, {parent for parents in made.values() for parent in parents})
    for child, parents in made.items():
        ancestors: dict[int, int] = {}
        for parent in parents:
            ancestors[parent] = 1
        for parent in parents:
            for ancestor, depth in known[parent].items():
                if depth + 1 < ancestors.get(ancestor, depth + 2):
                    ancestors[ancestor] = depth + 1
        known[child] = ancestors
        for ancestor, depth in ancestors.items():
            insert_later(
                session, ItemAncestry, {"descendant_id": child, "ancestor_id": ancestor, "depth": depth}
            )


def drop_ancestry(session: Session, made: Sequence[int]) -> None:
    """The pairs of a voided step's outputs; those outputs have no descendants (voiding checks that)."""
    if made:
        insert_queued(session)  # pairs queued for these outputs earlier in this transaction go too
        known = work_of(session).ancestors
        for item in made:
            known.pop(item, None)
        session.execute(_DROP, {"children": list(made)})
