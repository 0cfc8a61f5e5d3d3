"""What every /ui page shares: the templates, the session cookie and its CSRF token, the same-site check, the
role dependencies, and rendering a page.

Behind the same tokens, roles and password limits as the API: logging in trades a password for a token
through the same rate-limited check as POST /api/v1/tokens and keeps it in an HttpOnly, SameSite=Strict
cookie; every route asks for the same Permission as its API route (service.auth.deps.authorize). Every form
carries a CSRF token (derived from the session token, or on the login form from a pre-session cookie), and
every POST must come from this site (Origin or Referer). A module of pages makes its router with ui_router().
"""

import hashlib
import hmac
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlmodel import Session

from schemas import ProblemItem, Role
from service.auth.deps import authorize
from service.auth.logic import user_for_token
from service.auth.roles import Permission, may
from service.auth.tables import User
from service.db import open_writer, reading
from service.errors import DomainError, Forbidden, problem
from service.ui import numbers

HERE = Path(__file__).parent
COOKIE = "cellprov_session"
LOGIN_COOKIE = "cellprov_login"  # a pre-session secret that the login form's CSRF token is derived from
SESSION_DAYS = 1
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["quote"] = lambda value: quote(str(value), safe="")
templates.env.globals["plural"] = numbers.plural
templates.env.filters.update(
    number=numbers.number,
    unit=numbers.unit,
    quantity=numbers.quantity,
    change=numbers.change,
    metric_name=numbers.metric_name,
    measure=numbers.measure,
)

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


def engine_of(request: Request) -> Any:
    return request.app.state.engine


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_site(request: Request) -> None:
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


def ui_router() -> APIRouter:
    """A router for a module of /ui pages: every POST it takes must come from this site."""
    return APIRouter(prefix="/ui", include_in_schema=False, dependencies=[Depends(same_site)])


def _signed_in(permission: Permission) -> Any:
    def dependency(request: Request) -> User:
        token = request.cookies.get(COOKIE)
        if not token:
            raise LoginRequired
        try:
            with reading(engine_of(request)) as session:
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
Releaser = Annotated[User, Depends(_signed_in(Permission.release))]
Signer = Annotated[User, Depends(_signed_in(Permission.sign))]


def _read(request: Request) -> Any:
    with reading(engine_of(request)) as session:
        yield session


def _write(request: Request) -> Any:
    with open_writer(request) as session:
        yield session


ReadSession = Annotated[Session, Depends(_read)]
WriteSession = Annotated[Session, Depends(_write)]


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    user: User | None = getattr(request.state, "user", None)
    token = request.cookies.get(COOKIE, "")
    context.update(
        user=user,
        csrf=csrf_token(token) if token else "",
        may_record=user is not None and may(Role(user.role), Permission.record),
        may_audit=user is not None and may(Role(user.role), Permission.audit),
        may_release=user is not None and may(Role(user.role), Permission.release),
        may_sign=user is not None and may(Role(user.role), Permission.sign),
    )
    return templates.TemplateResponse(
        request, template, context, status_code=status_code, headers=SECURITY_HEADERS
    )


def check_csrf(request: Request, given: str, cookie: str = COOKIE) -> None:
    token = request.cookies.get(cookie, "")
    if not token or not hmac.compare_digest(given, csrf_token(token)):
        raise Forbidden("the form is stale or came from another site; reload the page and send it again")


def safe_next(target: str | None) -> str:
    return target if target and target.startswith("/ui") and not target.startswith("//") else "/ui"


def problems_of(exc: DomainError | ValidationError) -> list[ProblemItem]:
    """The problems of a refused form, as JSON pointers into the body the API would have taken."""
    if isinstance(exc, ValidationError):
        return [problem("/" + "/".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
    return exc.errors or [problem("/", exc.detail)]
