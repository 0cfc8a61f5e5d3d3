"""The compare page: choose cells (those made from an item, or named by hand), group them by what is upstream
(`role:anode`, `type:…`, or each cell apart), and see the overlaid capacity and CE plot and each group's
metrics. The same logic as GET /api/v1/tests/compare."""

from typing import Annotated, Literal

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from schemas import ItemKind
from schemas.cycling import CompareGroup, Comparison, Metric
from schemas.templates import TemplateKind
from service.cycling import logic as cycling
from service.errors import Invalid, problem
from service.lineage import logic as lineage
from service.templates import logic as templates
from service.ui.pages import ReadSession, Viewer, page, ui_router

router = ui_router()
MAX_CELLS = 500
Text = Annotated[str, Query(max_length=200)]


def _cells(session: Session, made_from: str, cells: str) -> list[str]:
    """The cells chosen: those named by hand, and those made from `made_from` (its descendant cells)."""
    chosen = [code.strip() for code in cells.replace("\n", ",").split(",") if code.strip()]
    if made_from.strip():
        down = lineage.trace(session, made_from.strip(), "down", kind=ItemKind.cell)
        chosen += [n.code for n in down.nodes if n.kind == ItemKind.cell and n.code not in chosen]
        if not any(n.kind == ItemKind.cell for n in down.nodes):
            raise Invalid(
                f"no cells were made from {made_from.strip()}; name another item or choose cells by hand",
                [problem("query:made_from", "no cells downstream")],
            )
    if len(chosen) > MAX_CELLS:
        raise Invalid(f"compare at most {MAX_CELLS} cells at once", [problem("query:cells", "too many")])
    return chosen


def _comparison(session: Session, by: str, protocol: str, made_from: str, cells: str) -> Comparison:
    return cycling.compare(session, by.strip() or "cell", protocol or None, _cells(session, made_from, cells))


@router.get("/compare")
def compare_page(
    request: Request,
    session: ReadSession,
    user: Viewer,
    by: Text = "",
    protocol: Text = "",
    made_from: Text = "",
    cells: Annotated[str, Query(max_length=20000)] = "",
    band: Annotated[Literal["sd", "range", ""], Query()] = "",
) -> HTMLResponse:
    asked = bool(by or protocol or made_from or cells)
    comparison = _comparison(session, by, protocol, made_from, cells) if asked else None
    metrics = sorted({name for g in comparison.groups for name in g.mean}) if comparison else []
    return page(
        request,
        "compare.html",
        chosen={"by": by, "protocol": protocol, "made_from": made_from, "cells": cells, "band": band},
        protocols=[
            f"{t.name}@{v}" for t in templates.list_templates(session, TemplateKind.test) for v in t.published
        ],
        comparison=comparison,
        metrics=metrics,
        units={m.name: m.unit for g in (comparison.groups if comparison else []) for m in _units(session, g)},
        query=request.url.query,
    )


def _units(session: Session, group: CompareGroup) -> list[Metric]:
    """The units of the metrics, read from a run of the group (every run names them alike)."""
    first = group.tests[0].test if group.tests else None
    return cycling.run_out(session, cycling.get_test(session, first)).metrics if first is not None else []


@router.get("/compare/plot.png")
def compare_plot(
    session: ReadSession,
    user: Viewer,
    by: Text = "",
    protocol: Text = "",
    made_from: Text = "",
    cells: Annotated[str, Query(max_length=20000)] = "",
    band: Annotated[Literal["sd", "range", ""], Query()] = "",
) -> Response:
    comparison = _comparison(session, by, protocol, made_from, cells)
    png = cycling.plot_comparison(session, comparison, "png", band=band or None)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})
