"""create_app(): the FastAPI application with its routers, error handlers and middleware."""

import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from service import health
from service.audit.router import router as audit_router
from service.auth.router import router as auth_router
from service.config import Settings, get_settings
from service.db import make_engine
from service.errors import install_error_handlers
from service.exports.router import router as exports_router
from service.imports.router import router as imports_router
from service.items.router import router as items_router
from service.lineage.router import router as lineage_router
from service.signatures.router import router as signatures_router
from service.steps.router import router as steps_router
from service.templates.router import router as templates_router

API_PREFIX = "/api/v1"


REQUEST_ID = "X-Request-ID"


async def tag_request(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Give every request an id (the client's X-Request-ID if it sent a sane one) that audit events carry."""
    given = request.headers.get(REQUEST_ID, "")
    request.state.request_id = given if 0 < len(given) <= 64 and given.isprintable() else uuid.uuid4().hex
    response = await call_next(request)
    response.headers[REQUEST_ID] = request.state.request_id
    return response


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="cellprov",
        version="0.1.0",
        summary="Lab notebook and synthesis-to-cell provenance for battery labs",
        docs_url="/docs",
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings)
    install_error_handlers(app)
    app.middleware("http")(tag_request)

    for router in (
        health.router,
        auth_router,
        items_router,
        steps_router,
        lineage_router,
        audit_router,
        signatures_router,
        exports_router,
        templates_router,
        imports_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    return app
