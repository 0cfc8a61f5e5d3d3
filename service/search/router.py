"""HTTP route for full-text search."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from schemas.search import SearchResults
from service.auth.deps import Reader
from service.db import ReadSession

router = APIRouter(tags=["search"])


@router.get("/search")
def search(
    request: Request,
    session: ReadSession,
    _: Reader,
    q: Annotated[str, Query(min_length=1, max_length=500, description="words, codes or lot numbers")],
    kind: Annotated[str | None, Query(pattern=r"^[a-z_]{1,32}$", description="item, step, entry")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchResults:
    """Items (codes, names, properties, supplier lots), step notes and entries holding every word of `q`
    (each as a word prefix), best first, each with the snippet that matched."""
    return request.app.state.search.search(session, q, kind, limit)
