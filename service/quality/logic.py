"""The quality release of a quarantined item: a reviewer releases it once the analyses that the template
which made it requires are recorded. It reads items, the step and template that made them, and analyses,
so it sits above all three (no domain imports it)."""

from sqlmodel import Session, select

from schemas import ItemStatus
from service.analyses.tables import Analysis, AnalysisSubject
from service.auth.tables import User
from service.db import utcnow
from service.errors import Conflict, problem
from service.items import logic as items
from service.items.tables import Item
from service.steps.tables import Step
from service.templates import logic as templates
from service.templates.tables import Template


def _analyses_missing(session: Session, item: Item) -> list[str]:
    """The techniques the template that made `item` requires before release, not yet recorded on it."""
    step = session.get(Step, item.produced_by_step_id) if item.produced_by_step_id else None
    template = session.get(Template, step.template_id) if step is not None and step.template_id else None
    if template is None:
        return []
    item_type = items.item_ref(session, item).type
    required = {
        t
        for spec in templates.definition_of(template).outputs
        if item_type in spec.types
        for t in spec.release_requires
    }
    done = set(
        session.exec(
            select(Analysis.technique).join(AnalysisSubject).where(AnalysisSubject.item_id == item.id)
        ).all()
    )
    return sorted(required - done)


def release_item(session: Session, user: User, code: str, note: str | None) -> Item:
    """A reviewer releases a quarantined item: from now on it may be used as a step input."""
    item = items.get_item(session, code)
    if item.status != ItemStatus.quarantined:
        raise Conflict(
            f"{code} is not quarantined; only a quarantined item is released",
            [
                problem(
                    "/", f"{code} is {item.status}", expected=ItemStatus.quarantined.value, got=item.status
                )
            ],
        )
    missing = _analyses_missing(session, item)
    if missing:
        raise Conflict(
            f"{code} needs {', '.join(missing)} before release",
            [
                problem("/", f"no {t} analysis of {code} recorded; POST /api/v1/analyses first", expected=t)
                for t in missing
            ],
        )
    item.status = ItemStatus.released.value
    item.version += 1
    item.updated_at = utcnow()
    items.record_version(session, item, "released", user, note or "released after quality review")
    return item
