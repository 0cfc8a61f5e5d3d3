"""The reading pages of /ui (search, an item with its lineage and entries, a step, an entry, a record's audit
trail) and install_ui, which mounts every module of /ui pages."""

from typing import Any
from urllib.parse import quote, unquote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles

from schemas import ItemKind, Lineage, Role
from service.analyses import logic as analyses
from service.audit import logic as audit
from service.audit import queries as audit_queries
from service.cycling import logic as cycling
from service.entries import logic as entries
from service.entries import queries as entry_queries
from service.entries.router import attachment_response
from service.entries.signing import entry_record
from service.files.logic import store_for
from service.items import logic as items
from service.items import queries as items_queries
from service.items.signing import item_record
from service.lineage import logic as lineage
from service.signatures import logic as signatures
from service.steps import logic as steps
from service.steps.signing import step_record
from service.ui import (
    compare,
    entry_forms,
    graph,
    instruments,
    labels,
    lists,
    login,
    lot_forms,
    record_forms,
    step_forms,
    step_view,
    tests_pages,
)
from service.ui.errors import install_error_pages
from service.ui.markdown import render
from service.ui.pages import (
    HERE,
    Auditor,
    LoginRequired,
    ReadSession,
    Recorder,
    Viewer,
    page,
    ui_router,
)

router = ui_router()

# --- reading ----------------------------------------------------------------------------------------------


@router.get("")
def home(request: Request, session: ReadSession, user: Viewer) -> HTMLResponse:
    recent = entry_queries.list_entries(session, entry_queries.EntryFilter(status="active"), None, 10)
    return page(
        request,
        "home.html",
        entries=[entries.entry_out(session, e) for e in recent],
    )


# Where each kind of search hit is shown.
HIT_PAGES = {
    "item": "items",
    "step": "steps",
    "entry": "entries",
    "test_run": "tests",
    "analysis": "analyses",
}


def scanned_code(session: ReadSession, text: str) -> str | None:
    """What a USB barcode scanner typed, when it names one item exactly: its code, or a whole label URL
    (…/ui/items/CODE). Words that are not a code are searched as usual."""
    typed = text.strip()
    if "/ui/items/" in typed:
        typed = unquote(typed.rsplit("/ui/items/", 1)[1].split("?", 1)[0].split("#", 1)[0].strip("/"))
    if not typed or any(c.isspace() for c in typed) or len(typed) > 64:
        return None
    found = items_queries.items_by_code(session, [typed])
    return found[0].code if found else None


@router.get("/search", response_model=None)
def searchpage(
    request: Request, session: ReadSession, user: Viewer, q: str = ""
) -> HTMLResponse | RedirectResponse:
    code = scanned_code(session, q[:500])
    if code is not None:
        return RedirectResponse(f"/ui/items/{quote(code, safe='')}", status_code=303)
    index = request.app.state.search
    results = index.search(session, q[:500], None, 50) if q.strip() else None
    return page(request, "search.html", q=q, results=results, hit_pages=HIT_PAGES)


def _tree(lineage_up: Lineage) -> list[dict[str, Any]]:
    """The upstream lineage as nested nodes (root first); an item reached twice is expanded once."""
    nodes = {n.code: n for n in lineage_up.nodes}
    parents: dict[str, list[Any]] = {}
    for edge in lineage_up.edges:
        parents.setdefault(edge.target, []).append(edge)
    shown: set[str] = set()

    def grow(code: str, via: Any) -> dict[str, Any]:
        repeated = code in shown
        shown.add(code)
        children = (
            []
            if repeated
            else [grow(e.source, e) for e in sorted(parents.get(code, []), key=lambda e: e.source)]
        )
        return {
            "node": nodes[code],
            "via": via,
            "repeated": repeated,
            "children": children,
            "entries": lineage_up.entries.get(code, []),
        }

    return [grow(lineage_up.root, None)] if lineage_up.root in nodes else []


@router.get("/items/{code}")
def itempage(code: str, request: Request, session: ReadSession, user: Viewer) -> HTMLResponse:
    item = items.get_item(session, code)
    shown = items.item_out(session, item)
    up = lineage.trace(session, item.code, "up")
    down = lineage.trace(session, item.code, "down", kind=ItemKind.cell)
    linked = entry_queries.list_entries(
        session, entry_queries.EntryFilter(record=f"item:{item.code}"), None, 200
    )
    return page(
        request,
        "item.html",
        item=shown,
        history=items.history(session, item),
        tree=_tree(up),
        cells=[n for n in down.nodes if n.code != item.code],
        entries=[entries.entry_out(session, e) for e in linked],
        signatures=signatures.signatures_of(session, item_record(session, item.code)),
        tests=[cycling.run_out(session, run) for run in cycling.tests_of_item(session, item.code)],
        test_protocols=tests_pages.test_protocols(session) if item.kind == ItemKind.cell else [],
        graph=graph.lineage_svg(up),
        analyses=[analyses.analysis_out(session, a) for a in analyses.analyses_of_item(session, item.code)],
    )


@router.get("/steps/{step_id}")
def steppage(step_id: int, request: Request, session: ReadSession, user: Viewer) -> HTMLResponse:
    step = steps.get_step(session, step_id)
    shown = steps.step_out(session, step)
    linked = entry_queries.list_entries(
        session, entry_queries.EntryFilter(record=f"step:{step_id}"), None, 200
    )
    return page(
        request,
        "step.html",
        step=shown,
        parameters=step_view.parameter_rows(session, shown),
        entries=[entries.entry_out(session, e) for e in linked],
        signatures=signatures.signatures_of(session, step_record(session, str(step_id))),
    )


@router.get("/entries/new")
def new_entry_form(request: Request, user: Recorder, link: str = "") -> HTMLResponse:
    return page(request, "entry_form.html", entry=None, form={"links": link}, problems=[])


@router.get("/entries/{entry_id}")
def entrypage(entry_id: int, request: Request, session: ReadSession, user: Viewer) -> HTMLResponse:
    entry = entries.get_entry(session, entry_id)
    shown = entries.entry_out(session, entry)
    return page(
        request,
        "entry.html",
        entry=shown,
        html=render(shown.body),
        history=entries.history(session, entry),
        signatures=signatures.signatures_of(session, entry_record(session, str(entry_id))),
        may_edit=shown.status == entries.ACTIVE and (entry.author_id == user.id or user.role == Role.admin),
    )


@router.get("/entries/{entry_id}/files/{sha256}")
def entry_file(
    entry_id: int, sha256: str, request: Request, session: ReadSession, user: Viewer
) -> StreamingResponse:
    return attachment_response(session, store_for(request.app.state.settings), entry_id, sha256)


@router.get("/audit/{entity_type}/{entity_id}")
def auditpage(
    entity_type: str, entity_id: str, request: Request, session: ReadSession, user: Auditor
) -> HTMLResponse:
    """The audit events of one record, for those who may read the audit trail (as GET /api/v1/audit)."""
    where = audit_queries.EventFilter(entity_type=entity_type[:32], entity_id=entity_id[:128])
    events = [audit.event_of(row) for row in audit_queries.list_events(session, where, None, 1000)]
    return page(request, "audit.html", entity_type=entity_type, entity_id=entity_id, events=events)


# Every module of /ui pages, each with its own router; a new module adds its router here.
PAGES = (
    login.router,
    lot_forms.router,  # /ui/lots/new and /ui/steps/new before the pages with a code or an id
    step_forms.router,
    lists.router,  # /ui/items and /ui/steps (lists) before /ui/items/{code}
    compare.router,
    labels.router,
    tests_pages.router,
    router,
    entry_forms.router,
    instruments.router,
    record_forms.router,
)


def install_ui(app: FastAPI) -> None:
    for pages in PAGES:
        app.include_router(pages)
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")

    install_error_pages(app)  # /ui refusals as pages, drawn from the API's own problem answers

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=303)
