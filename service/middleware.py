"""What wraps every request: request ids and JSON logs, security headers, CORS, trusted hosts and redirects,
input limits and slow bodies."""

import asyncio
import contextvars
import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.trustedhost import TrustedHostMiddleware
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.config import Settings
from service.errors import problem_response

REQUEST_ID = "X-Request-ID"
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
access_log = logging.getLogger("cellprov.access")

# -- request ids and structured logs ---------------------------------------------------------------------

# Bearer tokens and anything that looks like one never reach a log line, whatever a message interpolates.
_SECRETS = re.compile(r"(?i)(bearer\s+)\S+|\bcp_[A-Za-z0-9_-]{8,}")


def redact(text: str) -> str:
    return _SECRETS.sub(lambda m: (m.group(1) or "") + "[redacted]", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request id, and any `extra` fields."""

    _STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = current_request_id.get()
        if request_id:
            line["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in self._STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, default=str, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(settings: Settings) -> None:
    """Every log line of the server (ours and uvicorn's) as JSON on stderr. The access log is ours, with
    request ids and without query strings; uvicorn's own is switched off."""
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter())
    handler.set_name("cellprov-json")
    for name in ("cellprov", "uvicorn"):  # uvicorn.error propagates to uvicorn
        logger = logging.getLogger(name)
        logger.handlers = [handler]
    cellprov = logging.getLogger("cellprov")
    cellprov.setLevel(settings.log_level.upper())
    cellprov.propagate = False
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers = []
    uvicorn_access.propagate = False


class TagRequests:
    """Give every request an id (the client's X-Request-ID if it sent a sane one) that audit events and log
    lines carry, and log one access line per request.

    Plain ASGI rather than `app.middleware("http")`: Starlette's BaseHTTPMiddleware runs the app in a task of
    its own and passes the body through a stream, which cost more than a whole lineage query."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        given = request.headers.get(REQUEST_ID, "")
        request_id = given if 0 < len(given) <= 64 and given.isprintable() else uuid.uuid4().hex
        request.state.request_id = request_id
        current_request_id.set(request_id)
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before it answers

        async def send_tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_tagged)
        finally:
            _log_access(request, status, started)


def _log_access(request: Request, status: int, started: float) -> None:
    user = getattr(request.state, "user", None)
    access_log.info(
        "%s %s %s",
        request.method,
        request.url.path,
        status,
        extra={
            "method": request.method,
            "path": request.url.path,
            "status": status,
            "ms": round((time.perf_counter() - started) * 1000, 1),
            "user": user.username if user is not None else None,
            "client": request.client.host if request.client else None,
        },
    )


# -- security headers ------------------------------------------------------------------------------------

_API_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_CSP = "default-src 'none'; frame-ancestors 'none'"
# The interactive docs run Swagger UI's and ReDoc's scripts (served from here); everything else loads nothing.
_DOCS_PATHS = ("/docs", "/redoc")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self.production = production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _API_HEADERS.items():
                    headers.setdefault(name, value)
                if not path.startswith(_DOCS_PATHS):
                    headers.setdefault("Content-Security-Policy", _CSP)
                if path.startswith("/api/"):
                    # Records and tokens must not linger in shared caches.
                    headers.setdefault("Cache-Control", "no-store")
                if self.production:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
            await send(message)

        await self.app(scope, receive, send_with_headers)


# -- input limits ----------------------------------------------------------------------------------------


IMPORT_PATH = "/api/v1/import"


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body too large (limit {limit} bytes)")


class BodyTooSlow(HTTPException):
    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"The request body did not arrive in time ({seconds:.0f} s); send it again")


class InputGuard:
    """Refuses, before any route runs: bodies over the limit (413, also when sent chunked without a
    Content-Length), bodies that arrive too slowly (408: a slow client must not hold a worker), and URLs
    carrying NUL characters, which PostgreSQL text cannot hold (422)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_json_bytes: int,
        max_upload_bytes: int,
        max_import_bytes: int,
        body_timeout: float,
        body_min_rate: int,
    ) -> None:
        self.app = app
        self.max_json_bytes = max_json_bytes
        self.max_upload_bytes = max_upload_bytes
        self.max_import_bytes = max_import_bytes
        self.body_timeout = body_timeout
        self.body_min_rate = body_min_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if headers.get("content-type", "").startswith("multipart/"):
            limit = self.max_upload_bytes
        elif scope["path"] == IMPORT_PATH:
            limit = self.max_import_bytes
        else:
            limit = self.max_json_bytes
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            await self._refuse(scope, receive, send, 422, "invalid", "The request is not valid", "NUL in URL")
            return
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await self._refuse(scope, receive, send, 400, "bad-request", "Bad Content-Length", None)
                return
            if int(declared) > limit:
                await self._refuse(
                    scope, receive, send, 413, "too-large", "Request body too large", f"limit {limit} bytes"
                )
                return
        received = 0
        started = time.monotonic()

        async def counted() -> Message:
            nonlocal received
            # The body has body_timeout seconds, and one more for every body_min_rate bytes that came.
            allowed = self.body_timeout + received / self.body_min_rate
            try:
                message = await asyncio.wait_for(receive(), max(0.0, started + allowed - time.monotonic()))
            except TimeoutError:
                raise BodyTooSlow(time.monotonic() - started) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)

    @staticmethod
    async def _refuse(
        scope: Scope, receive: Receive, send: Send, status: int, slug: str, title: str, detail: str | None
    ) -> None:
        response = problem_response(status, slug, title, detail, [], Request(scope))
        await response(scope, receive, send)


# -- redirects -------------------------------------------------------------------------------------------


class RedirectsFromPublicUrl:
    """A redirect never points at whatever Host a request named: an absolute Location (Starlette's
    trailing-slash redirect builds one from Host) is rewritten onto the configured public URL, or made
    relative when none is configured."""

    def __init__(self, app: ASGIApp, *, public_url: str | None) -> None:
        self.app = app
        self.public = urlsplit(public_url) if public_url else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_relocated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                location = headers.get("location")
                if location and urlsplit(location).netloc:
                    parts = urlsplit(location)
                    if self.public is not None:
                        base = self.public.path.rstrip("/")
                        location = urlunsplit(
                            (self.public.scheme, self.public.netloc, base + parts.path, parts.query, "")
                        )
                    else:
                        location = urlunsplit(("", "", parts.path or "/", parts.query, ""))
                    headers["location"] = location
            await send(message)

        await self.app(scope, receive, send_relocated)


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Outermost last: the request id wraps everything, so even a refused body is logged with one."""
    app.add_middleware(
        InputGuard,
        max_json_bytes=settings.max_json_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        max_import_bytes=settings.max_import_bytes,
        body_timeout=settings.body_timeout_seconds,
        body_min_rate=settings.body_min_rate,
    )
    app.add_middleware(RedirectsFromPublicUrl, public_url=settings.public_url)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            # Bearer tokens, not cookies: credentials mode is never needed.
            allow_credentials=False,
            allow_methods=["GET", "POST", "PATCH"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-Match", REQUEST_ID],
            expose_headers=["ETag", "Idempotent-Replayed", "Retry-After", REQUEST_ID, "Location"],
            max_age=600,
        )
    app.add_middleware(SecurityHeaders, production=settings.is_production)
    if settings.trusted_hosts != ["*"]:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts)
    app.add_middleware(TagRequests)
