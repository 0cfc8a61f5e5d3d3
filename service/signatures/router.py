"""HTTP routes for e-signatures."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from schemas.signatures import RecordRef, SignatureIn, SignatureOut
from service.audit import logic as audit
from service.auth import ratelimit
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

    engine = request.app.state.engine
    attempt = ratelimit.admit(engine, request.app.state.settings, user.username, ratelimit.client_of(request))
    wrong_password = False
    try:
        return commit_once(request, session, user, body, produce)
    except Unauthorized:
        wrong_password = True
        session.rollback()
        audit.record_now(
            engine,
            user,
            request_id(request),
            "auth.failed",
            "signature",
            body.record,
            reason="wrong password when signing",
        )
        raise
    finally:
        if not wrong_password:
            session.rollback()  # SQLite: let go of the write lock before forgetting the attempt
            ratelimit.forget(engine, attempt)


@router.get("/signatures")
def list_signatures(
    session: ReadSession,
    _: Reader,
    record: Annotated[RecordRef, Query(description='"item:CODE", "step:ID" or "entry:ID"')],
) -> list[SignatureOut]:
    """A record's signatures; `valid` turns false once the record changes after signing."""
    return logic.signatures_of(session, record)
