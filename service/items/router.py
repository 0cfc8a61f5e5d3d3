"""HTTP routes for item types, lots and items."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from schemas import (
    ItemKind,
    ItemOut,
    ItemPatch,
    ItemStatus,
    ItemTypeIn,
    ItemTypeOut,
    ItemVersion,
    LotIn,
    Page,
    VoidIn,
)
from service.auth.deps import Reader, Recorder, TypeManager
from service.config import Settings
from service.db import ReadSession, WriteSession
from service.items import logic, queries
from service.items.signing import item_record
from service.pagination import decode_cursor, page_of
from service.signatures import logic as signatures
from service.writes import commit_once

router = APIRouter(tags=["items"])


def _type_out(item_type: object) -> ItemTypeOut:
    return ItemTypeOut.model_validate(item_type, from_attributes=True)


@router.get("/item-types")
def list_item_types(session: ReadSession, _: Reader) -> list[ItemTypeOut]:
    return [_type_out(t) for t in logic.list_types(session)]


@router.post("/item-types", status_code=201, response_model=ItemTypeOut)
def add_item_type(body: ItemTypeIn, request: Request, session: WriteSession, user: TypeManager) -> Response:
    return commit_once(request, session, user, body, lambda: _type_out(logic.create_type(session, body)))


@router.post("/lots", status_code=201, response_model=ItemOut)
def receive_lot(body: LotIn, request: Request, session: WriteSession, user: Recorder) -> Response:
    """Receive a reagent or part lot; its code is generated from the type's prefix unless given."""
    return commit_once(
        request,
        session,
        user,
        body,
        lambda: logic.item_out(session, logic.receive_lot(session, user, body)),
        etag=logic.etag_of,
    )


@router.get("/items")
def list_items(
    request: Request,
    session: ReadSession,
    _: Reader,
    kind: ItemKind | None = None,
    type: str | None = None,
    status: ItemStatus | None = None,
    q: Annotated[
        str | None, Query(max_length=200, description="part of a code, name or supplier lot")
    ] = None,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
    cursor: str | None = None,
) -> Page[ItemOut]:
    settings: Settings = request.app.state.settings
    size = limit or settings.default_page_size
    rows = queries.list_items(
        session,
        kind=kind,
        type_name=type,
        status=status,
        q=q,
        before_id=decode_cursor(cursor),
        limit=size + 1,
    )
    return page_of(rows, size, lambda item: logic.item_out(session, item))


@router.get("/items/{code}")
def get_item(code: str, response: Response, session: ReadSession, _: Reader) -> ItemOut:
    item = logic.item_out(session, logic.get_item(session, code))
    response.headers["ETag"] = logic.etag_of(item)
    return item.model_copy(
        update={"signatures": signatures.signatures_of(session, item_record(session, code))}
    )


@router.patch("/items/{code}", response_model=ItemOut)
def correct_item(
    code: str,
    body: ItemPatch,
    request: Request,
    session: WriteSession,
    user: Recorder,
    if_match: Annotated[str | None, Header(description='the ETag you read, e.g. "3"')] = None,
) -> Response:
    """Correct an item: a new version with a reason; needs If-Match with the version you corrected."""
    return commit_once(
        request,
        session,
        user,
        body,
        lambda: logic.item_out(session, logic.correct_item(session, user, code, body, if_match)),
        status_code=200,
        etag=logic.etag_of,
    )


@router.post("/items/{code}/void", response_model=ItemOut)
def void_item(code: str, body: VoidIn, request: Request, session: WriteSession, user: Recorder) -> Response:
    """Void an item recorded by mistake; it stays readable, with its reason, and can no longer be used."""
    return commit_once(
        request,
        session,
        user,
        body,
        lambda: logic.item_out(session, logic.void_item(session, user, code, body.reason)),
        status_code=200,
        etag=logic.etag_of,
    )


@router.get("/items/{code}/history")
def item_history(code: str, session: ReadSession, _: Reader) -> list[ItemVersion]:
    """Every version: who, when, why, what changed, and the signatures made on it."""
    item = logic.get_item(session, code)
    return signatures.on_versions(session, item_record(session, code), logic.history(session, item))
