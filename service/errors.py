"""Domain errors, and their one mapping to RFC 9457 problem+json responses."""

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException

# problem() lives with the rules the client applies too; domains keep importing it from here.
from labrules.problems import problem as problem
from schemas import Problem, ProblemItem
from schemas.entries import EntryIn, EntryPatch
from schemas.imports import TestRunIn

log = logging.getLogger("cellprov")
PROBLEM_JSON = "application/problem+json"


class DomainError(Exception):
    """A request the service refuses; `errors` lists every problem found, not just the first."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(
        self, detail: str, errors: list[ProblemItem] | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}


class Invalid(DomainError):
    status, slug, title = 422, "invalid", "The request is not valid"


class NotFound(DomainError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    status, slug, title = 409, "conflict", "Conflicts with the current state"


class Unauthorized(DomainError):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str):
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="cellprov"'})


class Forbidden(DomainError):
    status, slug, title = 403, "forbidden", "Not allowed for your role"


class PreconditionFailed(DomainError):
    status, slug, title = 412, "precondition-failed", "The record changed since you read it"


class PreconditionRequired(DomainError):
    status, slug, title = 428, "precondition-required", "If-Match is required"


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str | None,
    errors: list[ProblemItem],
    request: Request,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=f"/problems/{slug}",
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=errors,
    )
    return JSONResponse(
        _encodable(jsonable_encoder(body, exclude_none=True)),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _encodable(value: Any) -> Any:
    """The answer echoes what came; text that has no UTF-8 form (a lone surrogate) is echoed with '?'."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_encodable(key): _encodable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_encodable(item) for item in value]
    return value


def _pointer(loc: tuple[Any, ...]) -> str:
    where, *path = loc or ("body",)
    if where == "body":
        return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)
    return f"{where}:{'.'.join(str(p) for p in path)}"


def _shown(value: Any) -> Any:
    """Echo what came, but never a whole huge body back."""
    encoded = jsonable_encoder(value, custom_encoder={bytes: lambda b: b.decode("utf-8", "replace")})
    text = repr(encoded)
    return encoded if len(text) <= 200 else text[:200] + "…"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(exc.status, exc.slug, exc.title, exc.detail, exc.errors, request, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            problem(_pointer(tuple(e.get("loc", ()))), e.get("msg", "invalid"), got=_shown(e.get("input")))
            for e in exc.errors()
        ]
        return problem_response(
            422, "invalid", Invalid.title, f"{len(errors)} problem(s) in the request", errors, request
        )

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> JSONResponse:
        # A number in the request beyond what the database driver can bind (an id of 10**30 on SQLite).
        return problem_response(
            422,
            "invalid",
            Invalid.title,
            "a number in the request is out of range",
            [problem("/", str(exc))],
            request,
        )

    @app.exception_handler(ValidationError)
    async def _late_validation(request: Request, exc: ValidationError) -> JSONResponse:
        # A model built from request data inside the service (a result turned into a Quantity, say): the
        # request's values are at fault, so it is a 422 like any other invalid input, never a 500.
        errors = [
            problem(
                "/" + "/".join(map(str, e.get("loc", ()))),
                e.get("msg", "invalid"),
                got=_shown(e.get("input")),
            )
            for e in exc.errors()
        ]
        return problem_response(
            422, "invalid", Invalid.title, "a value in the request is not valid", errors, request
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        return problem_response(exc.status_code, "http", str(exc.detail), None, [], request, exc.headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity error on %s: %s", request.url.path, exc.orig)
        return problem_response(
            409,
            "conflict",
            Conflict.title,
            "the change collides with a record written at the same time; retry",
            [],
            request,
        )

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value the request carried (an id beyond its integer range, say): the
        # request's own fault, and its transaction is rolled back like any refusal's.
        log.warning("data error on %s: %s", request.url.path, exc.orig)
        return problem_response(
            422,
            "invalid",
            Invalid.title,
            "a value in the request is out of range for the database",
            [],
            request,
        )

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable on %s: %s", request.url.path, exc.orig)
        return problem_response(
            503,
            "unavailable",
            "The database is busy or unavailable",
            "retry later",
            [],
            request,
            {"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return problem_response(500, "internal", "Internal error", "the error was logged", [], request)


def document_problems(app: FastAPI) -> None:
    """Make the OpenAPI schema tell the truth about refusals: every 4xx answer is problem+json (`Problem`),
    not FastAPI's default HTTPValidationError, so clients and schema-driven tests can rely on it."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
        # With the models that routes name only in openapi_extra (the import's test-run operation, the
        # multipart entry bodies): FastAPI does not see those, and the references would point nowhere.
        models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Problem, "serialization")]
        models += [(model, "validation") for model in (TestRunIn, EntryIn, EntryPatch)]
        _, defs = models_json_schema(models, ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(defs.get("$defs", {}))
        refusal = {
            "description": "Refused: RFC 9457 problem details listing every problem",
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses["422"] = refusal
                responses.setdefault("4XX", refusal)
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
