"""HTTP routes for analyses and the electrochemistry calculators."""

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel
from sqlmodel import Session

from schemas.analyses import AnalysisIn, AnalysisOut, ArrheniusIn, BruceVincentIn, Nyquist, TafelIn
from schemas.common import VoidIn
from service.analyses import logic
from service.analyses.tables import Analysis
from service.auth.deps import Reader, Recorder
from service.auth.tables import User
from service.db import ReadSession, RowId, WriteSession
from service.files import logic as files
from service.writes import commit_once

router = APIRouter(tags=["analyses"])


def _write(
    request: Request,
    session: Session,
    user: User,
    body: BaseModel,
    make: Callable[[], Analysis],
) -> Response:
    return commit_once(request, session, user, body, lambda: logic.analysis_out(session, make()))


@router.post("/analyses", status_code=201, response_model=AnalysisOut)
def add_analysis(body: AnalysisIn, request: Request, session: WriteSession, user: Recorder) -> Response:
    """Record a characterisation of one or more items, with files (uploaded first) and results."""
    return _write(request, session, user, body, lambda: logic.record_analysis(session, user, body))


@router.get("/analyses/{analysis_id}")
def get_analysis(analysis_id: int, session: ReadSession, _: Reader) -> AnalysisOut:
    return logic.analysis_out(session, logic.get_analysis(session, analysis_id))


IMAGES = {"png": "image/png", "svg": "image/svg+xml"}
CSV_PNG_SVG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}, "image/png": {}, "image/svg+xml": {}}}
}


@router.get("/analyses/{analysis_id}/nyquist", response_model=Nyquist, responses=CSV_PNG_SVG)
def analysis_nyquist(
    analysis_id: RowId,
    request: Request,
    session: ReadSession,
    _: Reader,
    file: Annotated[
        str | None,
        Query(
            max_length=200, description="which file: its name, label or SHA-256 (default: the first spectrum)"
        ),
    ] = None,
    format: Literal["json", "csv", "png", "svg"] = "json",
) -> Nyquist | Response:
    """The Nyquist plot of an EIS analysis's BioLogic PEIS/GEIS file (.mpt; .mpr with the optional extra
    cellprov[biologic]): −Im(Z) against Re(Z) in ohms, equal axes, nothing fitted. A file that holds no
    impedance spectrum is a 422 saying what it holds instead."""
    store = files.store_for(request.app.state.settings)
    answer = logic.nyquist(session, store, analysis_id, file)
    if format == "csv":
        return PlainTextResponse(
            logic.nyquist_csv(answer),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="analysis-{analysis_id}-nyquist.csv"'},
        )
    if format == "png" or format == "svg":
        return Response(logic.nyquist_figure(answer, format), media_type=IMAGES[format])
    return answer


@router.post("/analyses/{analysis_id}/void", response_model=AnalysisOut)
def void_analysis(
    analysis_id: RowId, body: VoidIn, request: Request, session: WriteSession, user: Recorder
) -> Response:
    """Void an analysis recorded by mistake; it stays readable, marked voided with its reason."""
    return commit_once(
        request,
        session,
        user,
        body,
        lambda: logic.analysis_out(session, logic.void_analysis(session, user, analysis_id, body.reason)),
        status_code=200,
    )


@router.get("/items/{code}/analyses")
def item_analyses(code: str, session: ReadSession, _: Reader) -> list[AnalysisOut]:
    return [logic.analysis_out(session, a) for a in logic.analyses_of_item(session, code)]


@router.post("/calculators/bruce-vincent", status_code=201, response_model=AnalysisOut)
def bruce_vincent(body: BruceVincentIn, request: Request, session: WriteSession, user: Recorder) -> Response:
    """Li+ transference number; stored as a chronoamperometry analysis of the subjects."""
    return _write(request, session, user, body, lambda: logic.bruce_vincent(session, user, body))


@router.post("/calculators/tafel", status_code=201, response_model=AnalysisOut)
def tafel(body: TafelIn, request: Request, session: WriteSession, user: Recorder) -> Response:
    """Exchange current density from a Tafel fit; stored as a Tafel analysis."""
    return _write(request, session, user, body, lambda: logic.tafel(session, user, body))


@router.post("/calculators/arrhenius", status_code=201, response_model=AnalysisOut)
def arrhenius(body: ArrheniusIn, request: Request, session: WriteSession, user: Recorder) -> Response:
    """Activation energy from Rct(T); stored as an EIS analysis."""
    return _write(request, session, user, body, lambda: logic.arrhenius(session, user, body))
