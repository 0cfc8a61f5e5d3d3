"""create_app(): the FastAPI application with its routers, error handlers and middleware, and what every
write runs before it commits (the search index of service.searched)."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service import health
from service.analyses.router import router as analyses_router
from service.audit import logic as audit
from service.audit.router import router as audit_router
from service.auth import failures
from service.auth.router import router as auth_router
from service.config import Settings, get_settings
from service.cycling.router import router as cycling_router
from service.db import make_engine
from service.entries.router import router as entries_router
from service.errors import document_problems, install_error_handlers
from service.exports.router import router as exports_router
from service.files.router import router as files_router
from service.imports.router import router as imports_router
from service.instruments.router import router as instruments_router
from service.items.router import router as items_router
from service.lineage.logic import lineage_records
from service.lineage.router import router as lineage_router
from service.middleware import configure_logging, install_middleware
from service.quality.router import router as quality_router
from service.search.router import router as search_router
from service.searched import search_index
from service.signable import SIGNABLE
from service.signatures.router import router as signatures_router
from service.steps.router import router as steps_router
from service.templates.router import router as templates_router
from service.ui.router import install_ui

API_PREFIX = "/api/v1"
SUMMARY_EVERY_SECONDS = 60


async def _summarise_failures(app: FastAPI) -> None:
    """Each process chains the failure summaries of minutes that are over (service.auth.failures), so a
    burst of failures reaches the audit trail even when no later failure comes to do it."""
    while True:
        await asyncio.sleep(SUMMARY_EVERY_SECONDS)
        try:
            await asyncio.to_thread(failures.summarise, app.state.engine, app.state.before_commit)
        except Exception:  # the database may be away for a moment; the next round catches up
            logging.getLogger("cellprov").exception("could not summarise failed logins")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    summariser = asyncio.create_task(_summarise_failures(app))
    yield
    summariser.cancel()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.refuse_unsafe()
    configure_logging(settings)
    app = FastAPI(
        title="cellprov",
        version="0.1.0",
        summary="Lab notebook and synthesis-to-cell provenance for battery labs",
        docs_url="/docs",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings)
    app.state.search = search_index()
    app.state.signable = SIGNABLE
    app.state.lineage_records = lineage_records  # what GET /audit?lineage_of= asks about
    # Every write, before it commits: the search index re-reads what changed, then the trail chains the
    # events noted (last, as it takes the trail's lock).
    app.state.before_commit = (app.state.search.index_changes, audit.chain_noted)
    install_error_handlers(app)
    document_problems(app)
    install_middleware(app, settings)

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
        quality_router,
        files_router,
        cycling_router,
        analyses_router,
        entries_router,
        search_router,
        imports_router,
        instruments_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    install_ui(app)  # the browser view at /ui, outside the API and its OpenAPI schema
    return app
