"""A step as a signature binds it: its state as the API shows it, and who logged it."""

from sqlmodel import Session

from service.signatures.logic import Record
from service.steps import logic as steps


def step_record(session: Session, key: str) -> Record:
    step = steps.get_step(session, int(key) if key.isdigit() else -1)
    shown = steps.step_out(session, step)
    # Steps logged before instruments existed were signed without the field: an empty list is left out.
    state = shown.model_dump(mode="json", exclude=None if shown.instruments else {"instruments"})
    return Record("step", str(step.id), None, step.operator_id, state)
