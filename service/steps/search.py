"""How steps become search documents: protocol, notes, parameters, inputs and outputs, operator."""

from sqlmodel import Session, select

from service.search.documents import Document, SearchSource, lines, one_by_one, properties_text
from service.steps import logic as steps
from service.steps.tables import Step


def step_document(session: Session, key: str) -> Document | None:
    shown = steps.logged_now(session, int(key)) if key.isdigit() else None
    if shown is None:
        step = session.get(Step, int(key)) if key.isdigit() else None
        if step is None:
            return None
        shown = steps.step_out(session, step)
    parameters = properties_text(
        {name: steps.stored_parameter(value) for name, value in shown.parameters.items()}
    )
    return Document(
        kind="step",
        key=str(shown.id),
        title=f"step {shown.id} · {shown.protocol}",
        status=shown.status,
        text=lines(
            shown.notes,
            parameters,
            "inputs: " + ", ".join(f"{i.item.code} ({i.role})" for i in shown.inputs)
            if shown.inputs
            else None,
            "outputs: " + ", ".join(o.code for o in shown.outputs),
            f"operator {shown.operator}",
            shown.void_reason and f"voided: {shown.void_reason}",
        ),
    )


STEPS = SearchSource(
    kind="step",
    api_path="/steps/{key}",
    documents=one_by_one(step_document),
    keys=lambda session: (str(i) for i in session.exec(select(Step.id)).all()),
)
