"""The pages of /ui: log in, search, an item with its lineage and entries, an entry, a record's audit trail.

Behind the same tokens, roles and password limits as the API: logging in trades a password for a token
through the same rate-limited check as POST /api/v1/tokens and keeps it in an HttpOnly, SameSite=Strict
cookie; every route asks for the same Permission as its API route (service.auth.deps.authorize). Every form
carries a CSRF token (derived from the session token, or on the login form from a pre-session cookie), and
every POST must come from this site (Origin or Referer). Read-only except writing and correcting entries.
"""

import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlmodel import Session, select

from schemas import ItemKind, Lineage, ProblemItem, Role, TokenIn
from schemas.entries import EntryIn, EntryPatch
from service.analyses import logic as analyses
from service.audit import logic as audit
from service.audit import queries as audit_queries
from service.auth.deps import authorize
from service.auth.logic import hash_token, log_in, user_for_token
from service.auth.login import with_password_limit
from service.auth.ratelimit import TooManyAttempts
from service.auth.roles import Permission, may
from service.auth.tables import Token, User
from service.cycling import logic as cycling
from service.db import open_session, reading, utcnow
from service.entries import logic as entries
from service.entries import queries as entry_queries
from service.entries.attachments import MAX_ATTACHMENT_BYTES, Upload, clean_name, media_type_of
from service.entries.router import attachment_response
from service.errors import DomainError, Forbidden, Invalid, NotFound, problem, problem_response
from service.items import logic as items
from service.lineage import logic as lineage
from service.search import logic as search
from service.signatures import logic as signatures
from service.steps import logic as steps
from service.ui.markdown import render
from service.writes import commit_as

HERE = Path(__file__).parent
COOKIE = "cellprov_session"
LOGIN_COOKIE = "cellprov_login"  # a pre-session secret that the login form's CSRF token is derived from
SESSION_DAYS = 1
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["quote"] = lambda value: quote(str(value), safe="")

# No script runs on these pages at all: even an entry that slipped past the sanitiser could not execute.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; object-src 'none'; "
    "img-src 'self' data:; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class LoginRequired(Exception):
    """No valid session cookie: the browser is sent to the login form, then back."""


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"cellprov-ui-csrf", hashlib.sha256).hexdigest()


def _engine(request: Request) -> Any:
    return request.app.state.engine


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _same_site(request: Request) -> None:
    """Every /ui POST must come from a page of this site: a browser names the page's origin in Origin (or
    at least in Referer) on a form it sends, and another site cannot make it lie."""
    if request.method != "POST":
        return
    settings = request.app.state.settings
    ours = (
        _origin(settings.public_url)
        if settings.public_url
        else f"{request.url.scheme}://{request.url.netloc}"
    )
    sent = request.headers.get("origin") or request.headers.get("referer")
    if sent is not None and (sent == "null" or _origin(sent) != ours.lower()):
        raise Forbidden("this form was sent from another site; open cellprov's page and send it from there")


router = APIRouter(prefix="/ui", include_in_schema=False, dependencies=[Depends(_same_site)])


def _signed_in(permission: Permission) -> Any:
    def dependency(request: Request) -> User:
        token = request.cookies.get(COOKIE)
        if not token:
            raise LoginRequired
        try:
            with reading(_engine(request)) as session:
                user = user_for_token(session, token)
        except DomainError as refused:
            raise LoginRequired from refused
        request.state.user = user
        return authorize(user, permission)

    return dependency


# The same permissions the API's routes ask for (service.auth.deps), so both doors keep one policy.
Viewer = Annotated[User, Depends(_signed_in(Permission.read))]
Recorder = Annotated[User, Depends(_signed_in(Permission.record))]
Auditor = Annotated[User, Depends(_signed_in(Permission.audit))]


def _read(request: Request) -> Any:
    with reading(_engine(request)) as session:
        yield session


def _write(request: Request) -> Any:
    with open_session(_engine(request), write=True) as session:
        yield session


ReadSession = Annotated[Session, Depends(_read)]
WriteSession = Annotated[Session, Depends(_write)]


def _page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    user: User | None = getattr(request.state, "user", None)
    token = request.cookies.get(COOKIE, "")
    context.update(
        user=user,
        csrf=csrf_token(token) if token else "",
        may_record=user is not None and may(Role(user.role), Permission.record),
        may_audit=user is not None and may(Role(user.role), Permission.audit),
    )
    return templates.TemplateResponse(
        request, template, context, status_code=status_code, headers=SECURITY_HEADERS
    )


def _check_csrf(request: Request, given: str, cookie: str = COOKIE) -> None:
    token = request.cookies.get(cookie, "")
    if not token or not hmac.compare_digest(given, csrf_token(token)):
        raise Forbidden("the form is stale or came from another site; reload the page and send it again")


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/ui") and not target.startswith("//") else "/ui"


# --- logging in and out -------------------------------------------------------------------------------------


def _login_page(request: Request, status_code: int, next: str | None, error: str | None) -> HTMLResponse:
    secret = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    page = _page(
        request, "login.html", status_code, next=_safe_next(next), error=error, login_csrf=csrf_token(secret)
    )
    page.set_cookie(
        LOGIN_COOKIE,
        secret,
        max_age=3600,
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return page


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_page(request, 200, next, None)


@router.post("/login")
def login(
    request: Request,
    session: WriteSession,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/ui",
) -> Response:
    _check_csrf(request, csrf, LOGIN_COOKIE)  # login CSRF: another site cannot log you in as somebody else
    try:
        body = TokenIn(username=username, password=password, name="browser", expires_in_days=SESSION_DAYS)
    except ValidationError:
        return _login_page(request, 401, next, "Wrong username or password.")

    def check() -> str:
        secret, _, user = log_in(session, body)
        commit_as(session, user, request)
        return secret

    try:
        secret = with_password_limit(
            request,
            body.username,
            check,
            failure=("user", body.username, "wrong username or password"),
            before_forget=session.rollback,
        )
    except DomainError as refused:
        page = _login_page(request, refused.status, next, _login_error(refused))
        page.headers.update(refused.headers or {})
        return page
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        secret,
        max_age=SESSION_DAYS * 86400,
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/ui")
    return response


def _login_error(refused: DomainError) -> str:
    if isinstance(refused, TooManyAttempts):
        return f"Too many failed attempts for this name or from this computer. {refused.detail.capitalize()}."
    return "Wrong username or password."


@router.post("/logout")
def logout(request: Request, session: WriteSession, user: Viewer, csrf: Annotated[str, Form()]) -> Response:
    _check_csrf(request, csrf)
    row = session.exec(select(Token).where(Token.token_hash == hash_token(request.cookies[COOKIE]))).first()
    if row is not None:
        row.revoked_at = utcnow()
        session.add(row)
        audit.record(session, "token.revoked", "token", str(row.id), data={"user": user.username})
        commit_as(session, user, request)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response


# --- reading ----------------------------------------------------------------------------------------------


@router.get("")
def home(request: Request, session: ReadSession, user: Viewer) -> HTMLResponse:
    recent = entry_queries.list_entries(session, entry_queries.EntryFilter(status="active"), None, 10)
    return _page(
        request,
        "home.html",
        entries=[entries.entry_out(session, e) for e in recent],
    )


@router.get("/search")
def search_page(request: Request, session: ReadSession, user: Viewer, q: str = "") -> HTMLResponse:
    results = search.search(session, q[:500], None, 50) if q.strip() else None
    return _page(request, "search.html", q=q, results=results)


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
def item_page(code: str, request: Request, session: ReadSession, user: Viewer) -> HTMLResponse:
    item = items.get_item(session, code)
    shown = items.item_out(session, item)
    up = lineage.trace(session, item.code, "up")
    down = lineage.trace(session, item.code, "down", kind=ItemKind.cell)
    linked = entry_queries.list_entries(
        session, entry_queries.EntryFilter(record=f"item:{item.code}"), None, 200
    )
    return _page(
        request,
        "item.html",
        item=shown,
        history=items.history(session, item),
        tree=_tree(up),
        cells=[n for n in down.nodes if n.code != item.code],
        entries=[entries.entry_out(session, e) for e in linked],
        signatures=signatures.signatures_of(session, f"item:{item.code}"),
        tests=[cycling.run_out(session, run) for run in cycling.tests_of_item(session, item.code)],
        analyses=[analyses.analysis_out(session, a) for a in analyses.analyses_of_item(session, item.code)],
    )


@router.get("/tests/{test_id}/plot.png")
def test_plot(test_id: int, session: ReadSession, user: Viewer) -> Response:
    """The capacity and CE plot of a test run, for the item page (behind the session cookie)."""
    png = cycling.plot_test(session, cycling.get_test(session, test_id), "png")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


@router.get("/steps/{step_id}")
def step_page(step_id: int, request: Request, session: ReadSession, user: Viewer) -> HTMLResponse:
    step = steps.get_step(session, step_id)
    linked = entry_queries.list_entries(
        session, entry_queries.EntryFilter(record=f"step:{step_id}"), None, 200
    )
    return _page(
        request,
        "step.html",
        step=steps.step_out(session, step),
        entries=[entries.entry_out(session, e) for e in linked],
        signatures=signatures.signatures_of(session, f"step:{step_id}"),
    )


@router.get("/entries/new")
def new_entry_form(request: Request, user: Recorder, link: str = "") -> HTMLResponse:
    return _page(request, "entry_form.html", entry=None, form={"links": link}, problems=[])


@router.get("/entries/{entry_id}")
def entry_page(entry_id: int, request: Request, session: ReadSession, user: Viewer) -> HTMLResponse:
    entry = entries.get_entry(session, entry_id)
    shown = entries.entry_out(session, entry)
    return _page(
        request,
        "entry.html",
        entry=shown,
        html=render(shown.body),
        history=entries.history(session, entry),
        signatures=signatures.signatures_of(session, f"entry:{entry_id}"),
        may_edit=shown.status == entries.ACTIVE and (entry.author_id == user.id or user.role == Role.admin),
    )


@router.get("/entries/{entry_id}/files/{sha256}")
def entry_file(
    entry_id: int, sha256: str, request: Request, session: ReadSession, user: Viewer
) -> FileResponse:
    return attachment_response(session, request.app.state.settings.files_dir, entry_id, sha256)


@router.get("/audit/{entity_type}/{entity_id}")
def audit_page(
    entity_type: str, entity_id: str, request: Request, session: ReadSession, user: Auditor
) -> HTMLResponse:
    """The audit events of one record, for those who may read the audit trail (as GET /api/v1/audit)."""
    where = audit_queries.EventFilter(entity_type=entity_type[:32], entity_id=entity_id[:128])
    events = [audit.event_of(row) for row in audit_queries.list_events(session, where, None, 1000)]
    return _page(request, "audit.html", entity_type=entity_type, entity_id=entity_id, events=events)


# --- writing entries ----------------------------------------------------------------------------------------


def _split(text: str) -> list[str]:
    return [part for part in text.replace(",", " ").split() if part]


def _links(text: str) -> list[str]:
    """Codes as typed: "CC-0001" means the item; "step:12" and other kinds are written out."""
    return [part if ":" in part else f"item:{part}" for part in _split(text)]


def _uploads(files: list[UploadFile] | None) -> list[Upload]:
    found = []
    for part in files or []:
        if not part.filename:
            continue  # the browser sends an empty part when no file was chosen
        content = part.file.read(MAX_ATTACHMENT_BYTES + 1)
        if len(content) > MAX_ATTACHMENT_BYTES:
            raise Invalid(
                "the file is too large", [problem("/files", f"at most {MAX_ATTACHMENT_BYTES} bytes")]
            )
        name = clean_name(part.filename)
        found.append(Upload(name, media_type_of(name, part.content_type), content))
    return found


def _problems(exc: DomainError | ValidationError) -> list[ProblemItem]:
    if isinstance(exc, ValidationError):
        return [problem("/" + "/".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
    return exc.errors or [problem("/", exc.detail)]


@router.post("/entries")
def write_entry(
    request: Request,
    user: Recorder,
    csrf: Annotated[str, Form()],
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    tags: Annotated[str, Form()] = "",
    links: Annotated[str, Form()] = "",
    files: Annotated[list[UploadFile] | None, Form()] = None,
) -> Response:
    _check_csrf(request, csrf)
    form = {"title": title, "body": body, "tags": tags, "links": links}
    uploads = _uploads(files)
    try:
        submitted = EntryIn(title=title, body=body, tags=_split(tags), links=_links(links))
        with open_session(_engine(request), write=True) as session:
            entry = entries.create_entry(
                session, user, submitted, request.app.state.settings.files_dir, uploads
            )
            commit_as(session, user, request)
    except (DomainError, ValidationError) as refused:
        return _page(request, "entry_form.html", 422, entry=None, form=form, problems=_problems(refused))
    return RedirectResponse(f"/ui/entries/{entry.id}", status_code=303)


@router.get("/entries/{entry_id}/edit")
def edit_entry_form(entry_id: int, request: Request, session: ReadSession, user: Recorder) -> HTMLResponse:
    shown = entries.entry_out(session, entries.get_entry(session, entry_id))
    form = {
        "title": shown.title,
        "body": shown.body,
        "tags": ", ".join(shown.tags),
        "links": " ".join(link.removeprefix("item:") for link in shown.links),
        "version": shown.version,
    }
    return _page(request, "entry_form.html", entry=shown, form=form, problems=[])


@router.post("/entries/{entry_id}/edit")
def edit_entry(
    entry_id: int,
    request: Request,
    user: Recorder,
    csrf: Annotated[str, Form()],
    version: Annotated[int, Form()],
    reason: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    tags: Annotated[str, Form()] = "",
    links: Annotated[str, Form()] = "",
    files: Annotated[list[UploadFile] | None, Form()] = None,
) -> Response:
    _check_csrf(request, csrf)
    form = {"title": title, "body": body, "tags": tags, "links": links, "version": version, "reason": reason}
    uploads = _uploads(files)
    try:
        patch = EntryPatch(reason=reason, title=title, body=body, tags=_split(tags), links=_links(links))
        with open_session(_engine(request), write=True) as session:
            entries.correct_entry(
                session, user, entry_id, patch, f'"{version}"', request.app.state.settings.files_dir, uploads
            )
            commit_as(session, user, request)
    except (DomainError, ValidationError) as refused:
        if isinstance(refused, NotFound):
            raise
        with reading(_engine(request)) as session:
            shown = entries.entry_out(session, entries.get_entry(session, entry_id))
        return _page(request, "entry_form.html", 422, entry=shown, form=form, problems=_problems(refused))
    return RedirectResponse(f"/ui/entries/{entry_id}", status_code=303)


def install_ui(app: FastAPI) -> None:
    app.include_router(router)
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
