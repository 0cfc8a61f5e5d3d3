"""HTTP routes for lineage and origin."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from schemas import ItemKind, Lineage, Origin
from service.auth.deps import Reader
from service.db import ReadSession
from service.lineage import logic
from service.lineage.render import to_dot, to_mermaid

router = APIRouter(tags=["lineage"])


@router.get(
    "/items/{code}/lineage",
    response_model=Lineage,
    responses={200: {"content": {"text/vnd.mermaid": {}, "text/vnd.graphviz": {}}}},
)
def lineage(
    code: str,
    session: ReadSession,
    _: Reader,
    direction: Literal["up", "down"] = "up",
    max_depth: Annotated[int | None, Query(ge=1, le=1000)] = None,
    kind: ItemKind | None = None,
    type: Annotated[str | None, Query(max_length=100)] = None,
    format: Literal["json", "mermaid", "dot"] = "json",
) -> Lineage | PlainTextResponse:
    """Where an item came from (`up`) or what was made from it (`down`), as JSON, Mermaid or DOT."""
    answer = logic.trace(session, code, direction, max_depth, kind, type)
    if format == "mermaid":
        return PlainTextResponse(to_mermaid(answer), media_type="text/vnd.mermaid")
    if format == "dot":
        return PlainTextResponse(to_dot(answer), media_type="text/vnd.graphviz")
    return answer


@router.get("/items/{code}/origin")
def origin(code: str, session: ReadSession, _: Reader) -> Origin:
    """The nearest ancestor(s) of each item type: "which batch produced this cell"."""
    return logic.origin(session, code)
