"""Listing steps: filters and keyset pagination (newest first)."""

from sqlmodel import Session, col, select

from service.auth.tables import User
from service.steps.tables import ItemLink, Step


def list_steps(
    session: Session,
    *,
    protocol: str | None,
    item_id: int | None,
    operator: str | None,
    status: str | None,
    before_id: int | None,
    limit: int,
    deviating: bool | None = None,
) -> list[Step]:
    query = select(Step)
    if protocol is not None:
        # "name@2" is one version; a bare "name" means every version of that protocol.
        query = query.where(
            col(Step.protocol) == protocol
            if "@" in protocol
            else col(Step.protocol).startswith(protocol + "@", autoescape=True)
        )
    if item_id is not None:
        touching = select(ItemLink.step_id).where(
            (col(ItemLink.parent_id) == item_id) | (col(ItemLink.child_id) == item_id)
        )
        query = query.where(col(Step.id).in_(touching))
    if operator is not None:
        query = query.join(User).where(User.username == operator)
    if status is not None:
        query = query.where(Step.status == status)
    if deviating is not None:
        query = query.where(col(Step.deviating) == deviating)
    if before_id is not None:
        query = query.where(col(Step.id) < before_id)
    return list(session.exec(query.order_by(col(Step.id).desc()).limit(limit)).all())
