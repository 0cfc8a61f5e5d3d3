"""HTTP routes for e-signatures."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from schemas.signatures import RecordRef, SignatureIn, SignatureOut
from service.auth.deps import Reader, Signer
from service.auth.login import with_password_limit
from service.db import ReadSession, WriteSession
from service.signatures import logic
from service.writes import commit_once

router = APIRouter(tags=["signatures"])


@router.post("/signatures", status_code=201, response_model=SignatureOut)
def sign(body: SignatureIn, request: Request, session: WriteSession, user: Signer) -> Response:
    """Sign a record as it is now (authored, reviewed, approved, witnessed), re-entering your password."""

    def produce() -> SignatureOut:
        signature = logic.sign(session, user, body, request.app.state.signable)
        return logic.signature_out(signature, user.username, valid=True)

    return with_password_limit(
        request,
        user.username,
        lambda: commit_once(request, session, user, body, produce),
        failure=("signature", body.record, "wrong password when signing"),
        actor=user,
        before_forget=session.rollback,  # SQLite: let go of the write lock first
    )


@router.get("/signatures")
def list_signatures(
    request: Request,
    session: ReadSession,
    _: Reader,
    record: Annotated[RecordRef, Query(description='"item:CODE", "step:ID" or "entry:ID"')],
) -> list[SignatureOut]:
    """A record's signatures; `valid` turns false once the record changes after signing."""
    return logic.signatures_of(session, logic.load_record(session, record, request.app.state.signable))
