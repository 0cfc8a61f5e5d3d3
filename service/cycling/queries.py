"""SQL of test runs beyond a one-liner: the cathode a cell was assembled from, and how much of it."""

from sqlmodel import Session, col, select

from service.items.tables import Item
from service.steps.tables import ItemLink, StepInput

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
