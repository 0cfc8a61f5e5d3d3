"""Label routes: one item's label as SVG or PDF, and a PDF of many (a sheet or a tape run). The QR code holds
the item's absolute page URL, under CELLPROV_PUBLIC_URL when set, else the address the request came to."""

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from service.errors import Invalid, problem
from service.items import logic as items
from service.items.tables import Item
from service.ui import label_art
from service.ui.pages import ReadSession, Viewer, ui_router

router = ui_router()
MAX_LABELS = 240  # ten A4 sheets
LayoutParam = Annotated[str, Query(max_length=10, description="cryo, tape62 or a4-3x8")]


def item_url(request: Request, code: str) -> str:
    base = request.app.state.settings.public_url or str(request.base_url)
    return f"{base.rstrip('/')}/ui/items/{code}"


def _label(session: Session, request: Request, item: Item) -> label_art.Label:
    shown = items.item_out(session, item)
    day = shown.received_on or shown.created_at.date()
    title = " · ".join(part for part in (shown.type, shown.name) if part)
    return label_art.Label(
        code=shown.code, title=title, day=day.isoformat(), url=item_url(request, shown.code)
    )


def _layout(layout: str) -> str:
    if layout not in label_art.LAYOUTS:
        raise Invalid(
            f"there is no label layout {layout!r}; choose one of {', '.join(label_art.LAYOUTS)}",
            [problem("/layout", "unknown layout", expected=" | ".join(label_art.LAYOUTS))],
        )
    return layout


def _pdf(content: bytes, name: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "private, no-store"},
    )


@router.get("/items/{code}/label.svg")
def label_svg(
    code: str, request: Request, session: ReadSession, user: Viewer, layout: LayoutParam = "tape62"
) -> Response:
    label = _label(session, request, items.get_item(session, code))
    return Response(
        label_art.svg(label, _layout(layout)),
        media_type="image/svg+xml",
        headers={"Cache-Control": "private, no-store"},
    )


@router.get("/items/{code}/label.pdf")
def label_pdf(
    code: str, request: Request, session: ReadSession, user: Viewer, layout: LayoutParam = "tape62"
) -> Response:
    label = _label(session, request, items.get_item(session, code))
    return _pdf(label_art.pdf([label], _layout(layout)), f"{label.code}-label.pdf")


@router.get("/labels.pdf")
def labels_pdf(
    request: Request,
    session: ReadSession,
    user: Viewer,
    codes: Annotated[str, Query(max_length=20000, description="item codes, comma-separated")] = "",
    layout: LayoutParam = "a4-3x8",
) -> Response:
    chosen = [code.strip() for code in codes.split(",") if code.strip()]
    if not chosen or len(chosen) > MAX_LABELS:
        raise Invalid(
            f"name 1 to {MAX_LABELS} item codes, comma-separated, e.g. ?codes=FECL-0001,FECL-0002",
            [problem("/codes", "no codes" if not chosen else "too many codes")],
        )
    shown_layout = _layout(layout)
    labels = [_label(session, request, items.get_item(session, code)) for code in chosen]
    return _pdf(label_art.pdf(labels, shown_layout), f"labels-{shown_layout}.pdf")
