"""Receiving a lot from /ui: fields named as POST /api/v1/lots names them, and the same domain call."""

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from schemas import ItemKind, LotIn, ProblemItem
from service.db import open_writer, reading
from service.errors import DomainError
from service.items import logic as items
from service.ui.forms import Posted, PostedForm, checked, new_key, place, submit
from service.ui.pages import Recorder, engine_of, page, problems_of, ui_router

router = ui_router()

FIELDS = (
    "type",
    "quantity",
    "name",
    "supplier",
    "catalog_number",
    "supplier_lot",
    "received_on",
    "expires_on",
)


def _form(
    request: Request, values: dict[str, str], problems: list[ProblemItem], status_code: int = 200
) -> HTMLResponse:
    with reading(engine_of(request)) as session:
        types = [t for t in items.list_types(session) if t.kind == ItemKind.lot]
    return page(
        request,
        "lot_form.html",
        status_code,
        types=types,
        form=values,
        placed=place(problems, FIELDS),
    )


@router.get("/lots/new")
def new_lot_form(request: Request, user: Recorder, type: str = "") -> HTMLResponse:
    return _form(request, {"type": type, "idempotency_key": new_key()}, [])


@router.post("/lots")
def receive_lot(request: Request, user: Recorder, posted: PostedForm) -> Response:
    form: Posted = checked(request, posted)
    try:
        lot = LotIn.model_validate(form.body())
        with open_writer(request) as session:
            shown = submit(
                request,
                session,
                user,
                form,
                lot,
                lambda: items.item_out(session, items.receive_lot(session, user, lot)),
                etag=items.etag_of,
            )
    except (DomainError, ValidationError) as refused:
        status = refused.status if isinstance(refused, DomainError) else 422
        return _form(request, form.values, problems_of(refused), status)
    return RedirectResponse(f"/ui/items/{quote(shown['code'], safe='')}", status_code=303)
