"""The reading pages of /ui (search, an item with its lineage and entries, a step, an entry, a record's audit
trail) and install_ui, which mounts every module of /ui pages."""

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
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
from service.errors import DomainError, problem_response
from service.items import logic as items
from service.items.signing import item_record
from service.lineage import logic as lineage
from service.signatures import logic as signatures
from service.steps import logic as steps
from service.steps.signing import step_record
from service.ui import entry_forms, login, lot_forms, record_forms, step_forms
from service.ui.markdown import render
from service.ui.pages import (
    HERE,
    SECURITY_HEADERS,
    Auditor,
    LoginRequired,
    ReadSession,
    Recorder,
    Viewer,
    page,
    templates,
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


@router.get("/search")
def searchpage(request: Request, session: ReadSession, user: Viewer, q: str = "") -> HTMLResponse:
    index = request.app.state.search
    results = index.search(session, q[:500], None, 50) if q.strip() else None
    return page(request, "search.html", q=q, results=results)


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
        analyses=[analyses.analysis_out(session, a) for a in analyses.analyses_of_item(session, item.code)],
    )


@router.get("/tests/{test_id}/plot.png")
def test_plot(test_id: int, session: ReadSession, user: Viewer) -> Response:
    """The capacity and CE plot of a test run, for the item page (behind the session cookie)."""
    png = cycling.plot_test(session, cycling.get_test(session, test_id), "png")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


@router.get("/steps/{step_id}")
def steppage(step_id: int, request: Request, session: ReadSession, user: Viewer) -> HTMLResponse:
    step = steps.get_step(session, step_id)
    linked = entry_queries.list_entries(
        session, entry_queries.EntryFilter(record=f"step:{step_id}"), None, 200
    )
    return page(
        request,
        "step.html",
        step=steps.step_out(session, step),
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
) -> FileResponse:
    return attachment_response(session, request.app.state.settings.files_dir, entry_id, sha256)


@router.get("/audit/{entity_type}/{entity_id}")
def auditpage(
    entity_type: str, entity_id: str, request: Request, session: ReadSession, user: Auditor
) -> HTMLResponse:
    """The audit events of one record, for those who may read the audit trail (as GET /api/v1/audit)."""
    where = audit_queries.EventFilter(entity_type=entity_type[:32], entity_id=entity_id[:128])
    events = [audit.event_of(row) for row in audit_queries.list_events(session, where, None, 1000)]
    return page(request, "audit.html", entity_type=entity_type, entity_id=entity_id, events=events)


# Every module of /ui pages, each with its own router; a new module adds its router here.
PAGES = (login.router, lot_forms.router, step_forms.router, router, entry_forms.router, record_forms.router)


def install_ui(app: FastAPI) -> None:
    for pages in PAGES:
        app.include_router(pages)
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")

    @app.exception_handler(DomainError)
    async def _refused(request: Request, exc: DomainError) -> Response:
        # The API answers problem+json; a person in a browser gets a page saying what went wrong.
        if request.url.path.startswith("/ui"):
            return templates.TemplateResponse(
                request,
                "error.html",
                {"user": getattr(request.state, "user", None), "error": exc, "csrf": "", "may_record": False},
                status_code=exc.status,
                headers={**SECURITY_HEADERS, **(exc.headers or {})},
            )
        return problem_response(exc.status, exc.slug, exc.title, exc.detail, exc.errors, request, exc.headers)

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=303)
