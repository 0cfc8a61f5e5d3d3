"""HTTP routes for steps."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from schemas import Page, StepIn, StepOut, VoidIn
from schemas.events import AuditEvent
from service.audit import logic as audit
from service.audit import queries as audit_queries
from service.auth.deps import Reader, Recorder
from service.db import ReadSession, RowId, WriteSession
from service.items import logic as items
from service.pagination import decode_cursor, page_of
from service.signatures import logic as signatures
from service.steps import logic, queries
from service.steps.signing import step_record
from service.writes import commit_once

router = APIRouter(tags=["steps"])


@router.post("/steps", status_code=201, response_model=StepOut)
def log_step(body: StepIn, request: Request, session: WriteSession, user: Recorder) -> Response:
    """Log a performed step: its inputs are consumed and its outputs made, all in one transaction."""
    cap = request.app.state.settings.max_outputs_per_step
    return commit_once(
        request, session, user, body, lambda: logic.log_step(session, user, body, max_outputs=cap)
    )


@router.get("/steps")
def list_steps(
    session: ReadSession,
    _: Reader,
    protocol: Annotated[
        str | None, Query(description="name@version, or just the name for every version")
    ] = None,
    item: Annotated[str | None, Query(description="code of an item the step used or made")] = None,
    operator: str | None = None,
    status: Literal["recorded", "voided"] | None = None,
    deviating: Annotated[
        bool | None, Query(description="only steps with (true) or without deviations")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Page[StepOut]:
    rows = queries.list_steps(
        session,
        protocol=protocol,
        item_id=items.get_item(session, item).id if item is not None else None,
        operator=operator,
        status=status,
        deviating=deviating,
        before_id=decode_cursor(cursor),
        limit=limit + 1,
    )
    return page_of(rows, limit, lambda step: logic.step_out(session, step))


@router.get("/steps/{step_id}")
def get_step(step_id: RowId, session: ReadSession, _: Reader) -> StepOut:
    step = logic.step_out(session, logic.get_step(session, step_id))
    return step.model_copy(
        update={"signatures": signatures.signatures_of(session, step_record(session, str(step_id)))}
    )


@router.post("/steps/{step_id}/void", response_model=StepOut)
def void_step(
    step_id: RowId, body: VoidIn, request: Request, session: WriteSession, user: Recorder
) -> Response:
    """Void a step logged by mistake: outputs voided, consumed amounts put back, gone from lineage."""
    return commit_once(
        request,
        session,
        user,
        body,
        lambda: logic.step_out(session, logic.void_step(session, user, step_id, body.reason)),
        status_code=200,
    )


@router.get("/steps/{step_id}/history")
def step_history(step_id: RowId, session: ReadSession, _: Reader) -> list[AuditEvent]:
    """Every recorded change of a step: logged, voided, signed."""
    logic.get_step(session, step_id)
    where = audit_queries.EventFilter(entity_type="step", entity_id=str(step_id))
    return [audit.event_of(row) for row in audit_queries.list_events(session, where, None, 10_000)]
