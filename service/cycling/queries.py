"""SQL of test runs beyond a one-liner: the cathode a cell was assembled from and how much of it; the cells
of a cohort and what made their ancestry."""

from sqlalchemy import bindparam, text
from sqlmodel import Session, col, select

from service.items.tables import Item
from service.steps.tables import ItemLink, Step, StepInput

CATHODE_ROLE = "cathode"


def cathode_inputs(session: Session, cell_id: int) -> list[tuple[Item, float | None, str | None]]:
    """The items that went into the cell as its cathode (active links only), with the amount taken."""
    rows = session.exec(
        select(Item, StepInput.amount_value, StepInput.amount_unit)
        .join(ItemLink, col(ItemLink.parent_id) == col(Item.id))
        .join(
            StepInput,
            (col(StepInput.step_id) == col(ItemLink.step_id))
            & (col(StepInput.item_id) == col(ItemLink.parent_id))
            & (col(StepInput.role) == col(ItemLink.role)),
        )
        .where(ItemLink.child_id == cell_id, col(ItemLink.active), ItemLink.role == CATHODE_ROLE)
        .order_by(col(Item.code))
    ).all()
    return [(item, value, unit) for item, value, unit in rows]


def cells_descending_from(session: Session, root_id: int) -> list[tuple[int, str]]:
    """(id, code) of every cell downstream of an item (the item itself if it is a cell), from the closure."""
    rows = session.execute(
        text(
            """
            SELECT i.id, i.code FROM items i
            WHERE i.kind = 'cell' AND (i.id = :root OR i.id IN
                (SELECT a.descendant_id FROM item_ancestry a WHERE a.ancestor_id = :root))
            ORDER BY i.code
            """
        ),
        {"root": root_id},
    ).all()
    return [(int(row[0]), str(row[1])) for row in rows]


def ancestry_of(session: Session, cell_ids: list[int]) -> list[tuple[int, str, str, str]]:
    """(id, code, kind, type) of the cells and everything upstream of any of them."""
    if not cell_ids:
        return []
    query = text(
        """
        SELECT i.id, i.code, i.kind, t.name FROM items i JOIN item_types t ON t.id = i.type_id
        WHERE i.id IN :ids
           OR i.id IN (SELECT a.ancestor_id FROM item_ancestry a WHERE a.descendant_id IN :ids)
        ORDER BY i.code
        """
    ).bindparams(bindparam("ids", expanding=True))
    return [(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in session.execute(query, {"ids": cell_ids})]


def steps_making(session: Session, item_ids: list[int]) -> list[Step]:
    """The steps that made any of these items (through active links), in order."""
    if not item_ids:
        return []
    made = (
        select(ItemLink.step_id).where(col(ItemLink.child_id).in_(item_ids), col(ItemLink.active)).distinct()
    )
    return list(session.exec(select(Step).where(col(Step.id).in_(made)).order_by(col(Step.id))).all())
