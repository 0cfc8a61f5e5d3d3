"""HTTP routes for e-signatures."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from schemas.signatures import RecordRef, SignatureIn, SignatureOut
from service.audit import logic as audit
from service.auth.deps import Reader, Signer
from service.db import ReadSession, WriteSession
from service.errors import Unauthorized
from service.signatures import logic
from service.writes import commit_once, request_id

router = APIRouter(tags=["signatures"])


@router.post("/signatures", status_code=201, response_model=SignatureOut)
def sign(body: SignatureIn, request: Request, session: WriteSession, user: Signer) -> Response:
    """Sign a record as it is now (authored, reviewed, approved, witnessed), re-entering your password."""

    def produce() -> SignatureOut:
        signature = logic.sign(session, user, body)
        return logic.signature_out(signature, user.username, valid=True)

    try:
        return commit_once(request, session, user, body, produce)
    except Unauthorized:
        session.rollback()
        audit.record_now(
            request.app.state.engine,
            user,
            request_id(request),
            "auth.failed",
            "signature",
            body.record,
            reason="wrong password when signing",
        )
        raise


@router.get("/signatures")
def list_signatures(
    session: ReadSession,
    _: Reader,
    record: Annotated[RecordRef, Query(description='"item:CODE", "step:ID" or "entry:ID"')],
) -> list[SignatureOut]:
    """A record's signatures; `valid` turns false once the record changes after signing."""
    return logic.signatures_of(session, record)
