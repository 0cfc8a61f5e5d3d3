"""Health checks for load balancers and the CLI: no token needed."""

from fastapi import APIRouter, Request
from sqlalchemy import text

from service import migrate
from service.db import reading
from service.errors import DomainError

router = APIRouter(tags=["health"])


class NotReady(DomainError):
    status, slug, title = 503, "not-ready", "Not ready"


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    # async: nothing here blocks, so no hop to the thread pool and back.
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> dict[str, str]:
    """The process is up, its database answers, and the database's schema is the one this code expects."""
    try:
        with reading(request.app.state.engine) as session:
            at = set(session.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except Exception as exc:  # any failure to reach the database means "not ready", whatever its type
        raise NotReady(f"the database does not answer: {type(exc).__name__}") from exc
    if at != migrate.heads():
        raise NotReady(
            f"the database is at migration {', '.join(sorted(at)) or 'none'}, this code expects "
            f"{', '.join(sorted(migrate.heads()))}; run `cellprov-server init`"
        )
    return {"status": "ok"}
