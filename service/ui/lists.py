"""Browsing: items by kind, type and status with what is left of each, and steps by protocol with the
deviating ones marked; newest first, a page at a time (the API's keyset cursors)."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from schemas import ItemKind, ItemStatus
from service.errors import Invalid, problem
from service.items import logic as items
from service.items import queries as item_queries
from service.pagination import decode_cursor, encode_cursor
from service.steps import logic as steps
from service.steps import queries as step_queries
from service.templates import logic as templates
from service.ui.pages import ReadSession, Viewer, page, ui_router

router = ui_router()
PAGE_SIZE = 50
Text = Annotated[str, Query(max_length=200)]


def _choice(value: str, allowed: list[str], name: str) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise Invalid(
            f"there is no {name} {value!r}; choose one of {', '.join(allowed)}",
            [problem(f"query:{name}", "unknown value", expected=" | ".join(allowed))],
        )
    return value


def _next(request: Request, rows: list, more: bool) -> str | None:
    """The address of the next page: this one's filters with the cursor after its last row."""
    if not more:
        return None
    params = {k: v for k, v in request.query_params.items() if k != "cursor"}
    return f"{request.url.path}?{urlencode({**params, 'cursor': encode_cursor(rows[-1].id)})}"


@router.get("/items")
def item_list(
    request: Request,
    session: ReadSession,
    user: Viewer,
    kind: Text = "",
    type: Text = "",
    status: Text = "",
    q: Text = "",
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    kinds, statuses = [k.value for k in ItemKind], [s.value for s in ItemStatus]
    rows = item_queries.list_items(
        session,
        kind=_choice(kind, kinds, "kind"),
        type_name=type or None,
        status=_choice(status, statuses, "status"),
        q=q or None,
        before_id=decode_cursor(cursor),
        limit=PAGE_SIZE + 1,
    )
    shown = rows[:PAGE_SIZE]
    return page(
        request,
        "item_list.html",
        items=[items.item_out(session, row) for row in shown],
        kinds=kinds,
        statuses=statuses,
        types=sorted(t.name for t in items.list_types(session)),
        chosen={"kind": kind, "type": type, "status": status, "q": q},
        next_page=_next(request, shown, len(rows) > PAGE_SIZE),
    )


@router.get("/steps")
def step_list(
    request: Request,
    session: ReadSession,
    user: Viewer,
    protocol: Text = "",
    deviating: Annotated[str, Query(max_length=5)] = "",
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    only = _choice(deviating, ["yes", "no"], "deviating")
    rows = step_queries.list_steps(
        session,
        protocol=protocol or None,
        item_id=None,
        operator=None,
        status=None,
        before_id=decode_cursor(cursor),
        limit=PAGE_SIZE + 1,
        deviating=None if only is None else only == "yes",
    )
    shown = rows[:PAGE_SIZE]
    return page(
        request,
        "step_list.html",
        steps=[steps.step_out(session, row) for row in shown],
        protocols=sorted(t.name for t in templates.list_templates(session)),
        chosen={"protocol": protocol, "deviating": deviating},
        next_page=_next(request, shown, len(rows) > PAGE_SIZE),
    )
