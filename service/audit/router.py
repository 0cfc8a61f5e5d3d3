"""HTTP routes for reading, verifying and exporting the audit trail.

The trail knows no domain: what "the lineage of an item" is, `GET /audit?lineage_of=` asks of the function
the app hands it as `app.state.lineage_records` (service.lineage.logic.lineage_records)."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, StreamingResponse

from schemas import Page
from schemas.audit import Checkpoint, ConsistencyProof, InclusionProof
from schemas.events import AuditEvent, ChainCheck
from service.audit import export, logic, proofs, queries
from service.auth.deps import Auditor
from service.db import MAX_ID, ReadSession
from service.pagination import decode_cursor, page_of
from service.writes import request_id

router = APIRouter(tags=["audit"])


@router.get("/audit")
def list_events(
    request: Request,
    session: ReadSession,
    _: Auditor,
    actor: Annotated[str | None, Query(description="username")] = None,
    action: Annotated[
        str | None, Query(description="e.g. item.corrected, or item for every item action")
    ] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    entity_type: Annotated[str | None, Query(max_length=32)] = None,
    entity_id: Annotated[str | None, Query(max_length=128)] = None,
    lineage_of: Annotated[
        str | None, Query(description="an item code: events of everything in its lineage")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Page[AuditEvent]:
    """Audit events, oldest first, filtered."""
    where = queries.EventFilter(
        actor=actor,
        action=action,
        since=since,
        until=until,
        entity_type=entity_type,
        entity_id=entity_id,
        records=request.app.state.lineage_records(session, lineage_of) if lineage_of else None,
    )
    rows = queries.list_events(session, where, decode_cursor(cursor), limit + 1)
    return page_of(rows, limit, logic.event_of, key="seq")


@router.get("/audit/verify")
def verify(session: ReadSession, _: Auditor) -> ChainCheck:
    """Recompute the hash chain; names the first event that is missing, out of place or altered."""
    return logic.verify(session)


@router.get(
    "/audit/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}}}},
)
def export_events(
    request: Request, user: Auditor, format: Literal["jsonl", "csv"] = "jsonl"
) -> StreamingResponse:
    """The whole trail, streamed, ending with a manifest line; `cellprov audit verify FILE` checks it."""
    engine = request.app.state.engine
    logic.record_now(
        engine, user, request_id(request), "audit.exported", "audit", "export", data={"format": format}
    )
    media = "application/x-ndjson" if format == "jsonl" else "text/csv"
    filename = f"cellprov-audit.{format}"
    return StreamingResponse(
        export.stream_overlapped(engine, format, user.username),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/audit/checkpoint")
def checkpoint(request: Request, session: ReadSession, _: Auditor) -> Checkpoint:
    """The trail's size and Merkle root (RFC 9162), signed with the server's Ed25519 key. Keep it elsewhere:
    a later checkpoint must prove consistent with it."""
    return proofs.checkpoint(session, request.app.state.settings.audit_key_file)


@router.get("/audit/public-key", response_class=PlainTextResponse)
def public_key(request: Request, _: Auditor) -> str:
    """The PEM public key checkpoints are signed with."""
    return proofs.public_key(request.app.state.settings.audit_key_file)


@router.get("/audit/proofs/inclusion")
def inclusion_proof(
    session: ReadSession,
    _: Auditor,
    seq: Annotated[int, Query(ge=1, le=MAX_ID)],
    size: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="tree size; default the whole trail")
    ] = None,
) -> InclusionProof:
    """Proof that event `seq` is in the tree of `size` events."""
    return proofs.inclusion(session, seq, size)


@router.get("/audit/proofs/consistency")
def consistency_proof(
    session: ReadSession,
    _: Auditor,
    old: Annotated[int, Query(ge=0, le=MAX_ID)],
    new: Annotated[int | None, Query(ge=0, le=MAX_ID, description="default the whole trail")] = None,
) -> ConsistencyProof:
    """Proof that the trail of `old` events is a prefix of the trail of `new` events."""
    return proofs.consistency(session, old, new)
