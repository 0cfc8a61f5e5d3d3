"""Every refusal under /ui is an HTML page in the site's frame saying what to do next, never raw JSON.

The API's handlers (service.errors) stay the one place that decides status, title and problems; for a /ui
path their problem+json answer is re-drawn as error.html."""

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException

from service.errors import DomainError
from service.ui.pages import SECURITY_HEADERS, templates

Handler = Callable[[Request, Any], Awaitable[Response] | Response]
# What a /ui request can be refused by; each already has an API handler answering problem+json.
REFUSALS: tuple[type[Exception], ...] = (
    DomainError,
    RequestValidationError,
    ValidationError,
    OverflowError,
    HTTPException,
    IntegrityError,
    DataError,
)
TITLES = {404: "Not found", 405: "Not allowed here", 403: "Not allowed", 409: "Conflict", 422: "Not valid"}


@dataclass
class Refusal:
    """What error.html shows, read back from the API's problem."""

    status: int
    title: str
    detail: str
    errors: list[dict[str, Any]] = field(default_factory=list)


def _page(request: Request, answer: Response) -> Response:
    problem = json.loads(bytes(answer.body))
    status = answer.status_code
    title = problem.get("title") or TITLES.get(status, "Refused")
    if title in ("Not Found", "Method Not Allowed"):
        title = TITLES.get(status, title)
    detail = problem.get("detail") or (
        "There is no page at this address." if status == 404 else f"The request was refused ({status})."
    )
    refusal = Refusal(status, title, detail, problem.get("errors") or [])
    kept = {
        name: value
        for name, value in answer.headers.items()
        if name.lower() in ("retry-after", "www-authenticate", "allow")
    }
    return templates.TemplateResponse(
        request,
        "error.html",
        {"user": getattr(request.state, "user", None), "error": refusal, "csrf": "", "may_record": False},
        status_code=status,
        headers={**SECURITY_HEADERS, **kept},
    )


def _for_pages(api_handler: Handler) -> Handler:
    async def handler(request: Request, exc: Any) -> Response:
        answer = api_handler(request, exc)
        if not isinstance(answer, Response):
            answer = await answer
        if request.url.path.startswith("/ui") and answer.media_type in (
            "application/problem+json",
            "application/json",
        ):
            return _page(request, answer)
        return answer

    return handler


def install_error_pages(app: FastAPI) -> None:
    for refusal in REFUSALS:
        api_handler = app.exception_handlers.get(refusal)
        if api_handler is not None:
            app.add_exception_handler(refusal, _for_pages(api_handler))
