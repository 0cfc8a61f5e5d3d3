"""Logging in and out of /ui: a password traded for a session token by the API's own rate-limited check."""

import secrets
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import select

from schemas import TokenIn
from service.auth.logic import hash_token, log_in
from service.auth.login import with_password_limit
from service.auth.ratelimit import TooManyAttempts
from service.auth.tables import Token
from service.db import utcnow
from service.errors import DomainError
from service.ui.pages import (
    COOKIE,
    LOGIN_COOKIE,
    SESSION_DAYS,
    Viewer,
    WriteSession,
    check_csrf,
    csrf_token,
    page,
    safe_next,
    ui_router,
)
from service.work import note_event
from service.writes import commit_as

router = ui_router()


def _login_page(request: Request, status_code: int, next: str | None, error: str | None) -> HTMLResponse:
    secret = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    shown = page(
        request, "login.html", status_code, next=safe_next(next), error=error, login_csrf=csrf_token(secret)
    )
    shown.set_cookie(
        LOGIN_COOKIE,
        secret,
        max_age=3600,
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return shown


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
    check_csrf(request, csrf, LOGIN_COOKIE)  # login CSRF: another site cannot log you in as somebody else
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
        shown = _login_page(request, refused.status, next, _login_error(refused))
        shown.headers.update(refused.headers or {})
        return shown
    response = RedirectResponse(safe_next(next), status_code=303)
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
    check_csrf(request, csrf)
    row = session.exec(select(Token).where(Token.token_hash == hash_token(request.cookies[COOKIE]))).first()
    if row is not None:
        row.revoked_at = utcnow()
        session.add(row)
        note_event(session, "token.revoked", "token", str(row.id), data={"user": user.username})
        commit_as(session, user, request)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response
