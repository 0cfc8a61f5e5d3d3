"""HTTP route for the quality release of quarantined items."""

from fastapi import APIRouter, Request, Response

from schemas import ItemOut, ReleaseIn
from service.auth.deps import Releaser
from service.db import WriteSession
from service.items import logic as items
from service.quality import logic
from service.writes import commit_once

router = APIRouter(tags=["items"])


@router.post("/items/{code}/release", response_model=ItemOut)
def release_item(
    code: str, body: ReleaseIn, request: Request, session: WriteSession, user: Releaser
) -> Response:
    """Release a quarantined item after quality review; from then on it can be used as a step input."""
    return commit_once(
        request,
        session,
        user,
        body,
        lambda: items.item_out(session, logic.release_item(session, user, code, body.note)),
        status_code=200,
        etag=items.etag_of,
    )
