"""HTTP routes for lineage and origin."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import PlainTextResponse
from pydantic_core import to_json

from schemas import ItemKind, Lineage, LineageParts, Origin
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
    include: LineageParts = "all",
) -> Response:
    """Where an item came from (`up`) or what was made from it (`down`), as JSON, Mermaid or DOT.

    `include=nodes` answers with the items alone, without the links between them or their test runs,
    analyses and notebook entries: all a recall (`direction=down&kind=cell&include=nodes`) needs."""
    document = logic.trace_document(session, code, direction, max_depth, kind, type, include)
    if format == "json":
        # Serialised straight from plain values; `response_model` still documents the shape.
        return Response(to_json(document), media_type="application/json")
    answer = Lineage.model_validate(document)
    if format == "mermaid":
        return PlainTextResponse(to_mermaid(answer), media_type="text/vnd.mermaid")
    return PlainTextResponse(to_dot(answer), media_type="text/vnd.graphviz")


@router.get("/items/{code}/origin")
def origin(code: str, session: ReadSession, _: Reader) -> Origin:
    """The nearest ancestor(s) of each item type: "which batch produced this cell"."""
    return logic.origin(session, code)
