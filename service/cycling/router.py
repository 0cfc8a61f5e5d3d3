"""HTTP routes for test runs: upload a cycler file for a cell, read its cycles, metrics and plots, compare."""

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request, Response, UploadFile
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import BaseModel

from schemas.common import VoidIn
from schemas.cycling import (
    Comparison,
    CycleOut,
    DifferentialCapacity,
    DifferentialVoltage,
    Metric,
    TestOptions,
    TestRunOut,
    VoltageProfiles,
)
from schemas.steps import ProtocolRef
from service.auth.deps import Reader, Recorder
from service.config import Settings
from service.cycling import bdf, figures, logic
from service.cycling.differential import DEFAULT_DVDQ_POINTS
from service.cycling.plots import MEDIA_TYPES
from service.db import ReadSession, WriteSession, open_writer
from service.files import logic as files
from service.writes import commit_once

ChosenCycles = Annotated[
    str | None, Query(max_length=2000, description="e.g. 1,50,100; default the first and last complete")
]


def _csv(text: str, filename: str) -> PlainTextResponse:
    return PlainTextResponse(
        text, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


router = APIRouter(tags=["tests"])
PNG_SVG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/png": {}, "image/svg+xml": {}}}}


class _TestUpload(BaseModel):
    """What makes two uploads the same request for Idempotency-Key purposes: the bytes' digest, not the
    bytes."""

    code: str
    protocol: str
    options: TestOptions
    sha256: str


@router.post("/items/{code}/tests", status_code=201, response_model=TestRunOut)
def upload_test(
    code: str,
    file: UploadFile,
    protocol: Annotated[ProtocolRef, Form(description="the test protocol template, name@version")],
    request: Request,
    user: Recorder,
    options: Annotated[str, Form(description="JSON object of TestOptions")] = "{}",
) -> Response:
    """Register a test of a cell with its raw cycler file (multipart: file, protocol, options).

    The format is detected from the content. The file is read and summarised before anything is written, so an
    unreadable file gets a 422 naming the format and why, and leaves no half-written test run.
    """
    settings: Settings = request.app.state.settings
    chosen = logic.parse_options(options)
    with files.Intake(files.store_for(settings)) as arriving:
        stored = arriving.put(file.file, settings.max_file_bytes)
        with arriving.local_copy(stored) as path:
            records, summary = logic.read_and_summarise(path, chosen, protocol)
        sniffed = files.media_type(arriving, stored)
        # The write transaction starts only now: on SQLite it holds the write lock, which must not wait on
        # parsing.
        with open_writer(request) as session:

            def produce() -> TestRunOut:
                row = files.record(session, user, stored, file.filename, sniffed)
                run = logic.record_test(session, user, code, protocol, chosen, row, records, summary)
                return logic.run_out(session, run)

            answer = commit_once(
                request,
                session,
                user,
                _TestUpload(code=code, protocol=protocol, options=chosen, sha256=stored.sha256),
                produce,
            )
        arriving.keep()  # only a recorded run keeps its file: an unreadable one leaves no bytes behind
    return answer


@router.get("/items/{code}/tests")
def item_tests(code: str, session: ReadSession, _: Reader) -> list[TestRunOut]:
    return [logic.run_out(session, run) for run in logic.tests_of_item(session, code)]


@router.get("/tests/compare", response_model=Comparison, responses=PNG_SVG)
def compare_tests(
    session: ReadSession,
    _: Reader,
    by: Annotated[
        str, Query(max_length=120, description="cell, role:<input role> or type:<item type>")
    ] = "cell",
    protocol: Annotated[str | None, Query(max_length=120)] = None,
    cells: Annotated[list[str] | None, Query(description="only these cells' runs")] = None,
    format: Literal["json", "png", "svg"] = "json",
    from_zero: Annotated[bool, Query(description="plots: the capacity axis starts at zero")] = False,
    band: Annotated[
        Literal["sd", "range"] | None,
        Query(description="plots: each group's mean with a ±1 σ (sd) or min–max (range) band"),
    ] = None,
    with_errors: Annotated[
        bool, Query(description="also runs whose plausibility checks found an error (left out by default)")
    ] = False,
    cohort: Annotated[
        list[str] | None,
        Query(
            max_length=200,
            description="repeatable NAME:descends_from=CODE: the cells downstream of CODE form cohort NAME; "
            "replaces `by`, and the answer lists the upstream differences between the cohorts",
        ),
    ] = None,
) -> Comparison | Response:
    """Metrics of many cells, grouped by what is upstream of them: did this batch make better cells?
    Voided runs are never in it. With cohorts, also what differs between their ancestries: protocol
    parameters, deviations, upstream items."""
    comparison = logic.compare(session, by, protocol, cells or [], with_errors, cohort or [])
    if format == "json":
        return comparison
    return Response(
        logic.plot_comparison(session, comparison, format, from_zero, band), media_type=MEDIA_TYPES[format]
    )


@router.get("/tests/{test_id}")
def get_test(test_id: int, session: ReadSession, _: Reader) -> TestRunOut:
    return logic.run_out(session, logic.get_test(session, test_id))


@router.post("/tests/{test_id}/void", response_model=TestRunOut)
def void_test(
    test_id: int, body: VoidIn, request: Request, session: WriteSession, user: Recorder
) -> Response:
    """Void a test run recorded by mistake; it stays readable, marked voided with its reason, and leaves
    comparisons and lineage answers."""
    return commit_once(
        request,
        session,
        user,
        body,
        lambda: logic.run_out(session, logic.void_test(session, user, test_id, body.reason)),
        status_code=200,
    )


@router.get(
    "/tests/{test_id}/cycles", response_model=list[CycleOut], responses={200: {"content": {"text/csv": {}}}}
)
def test_cycles(
    test_id: int, session: ReadSession, _: Reader, format: Literal["json", "csv"] = "json"
) -> list[CycleOut] | PlainTextResponse:
    cycles = logic.cycles_of(session, logic.get_test(session, test_id))
    if format == "csv":
        return _csv(logic.cycles_csv(cycles), f"test-{test_id}-cycles.csv")
    return cycles


@router.get(
    "/tests/{test_id}/metrics", response_model=list[Metric], responses={200: {"content": {"text/csv": {}}}}
)
def test_metrics(
    test_id: int, session: ReadSession, _: Reader, format: Literal["json", "csv"] = "json"
) -> list[Metric] | PlainTextResponse:
    """The run's metrics, each with the convention it was computed by."""
    metrics = logic.run_out(session, logic.get_test(session, test_id)).metrics
    if format == "csv":
        return _csv(logic.metrics_csv(metrics), f"test-{test_id}-metrics.csv")
    return metrics


CSV_PNG_SVG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}, "image/png": {}, "image/svg+xml": {}}}
}
Resolution = Annotated[float, Query(gt=0.1, le=100, description="dQ/dV: the voltage grid's step, mV")]
Smoothing = Annotated[int, Query(ge=1, le=51, description="moving-average points")]
FigureFormat = Literal["json", "csv", "png", "svg"]


def _figure(content: bytes, fmt: str, test_id: int, what: str) -> Response:
    return Response(
        content,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'inline; filename="test-{test_id}-{what}.{fmt}"'},
    )


@router.get("/tests/{test_id}/dqdv", response_model=DifferentialCapacity, responses=CSV_PNG_SVG)
def test_dqdv(
    test_id: int,
    request: Request,
    session: ReadSession,
    _: Reader,
    cycles: ChosenCycles = None,
    resolution_mV: Resolution = 5.0,
    smoothing: Smoothing = 5,
    format: FigureFormat = "json",
) -> DifferentialCapacity | Response:
    """Differential capacity dQ/dV per half cycle from the raw records; the answer states the method. As a
    figure (png, svg): dQ/dV against voltage, one colour per cycle, discharge dashed."""
    run = logic.get_test(session, test_id)
    chosen = logic.chosen_cycles(session, run, cycles)
    store = files.store_for(request.app.state.settings)
    with store.local_copy(logic.stored_file_of(session, run).sha256) as path:
        answer = logic.differential(session, path, run, chosen, resolution_mV / 1000, smoothing)
    if format == "csv":
        return _csv(logic.differential_csv(answer), f"test-{test_id}-dqdv.csv")
    if format == "png" or format == "svg":
        title = logic.figure_title(session, run)
        return _figure(figures.dqdv_figure(answer, title, format), format, test_id, "dqdv")
    return answer


@router.get("/tests/{test_id}/dvdq", response_model=DifferentialVoltage, responses=CSV_PNG_SVG)
def test_dvdq(
    test_id: int,
    request: Request,
    session: ReadSession,
    _: Reader,
    cycles: ChosenCycles = None,
    points: Annotated[
        int, Query(ge=20, le=5000, description="capacity grid points across each half cycle")
    ] = DEFAULT_DVDQ_POINTS,
    smoothing: Smoothing = 5,
    format: FigureFormat = "json",
) -> DifferentialVoltage | Response:
    """Differential voltage dV/dQ per half cycle against the capacity passed, from the raw records; the
    answer states the method. Plateaus are its minima, the steps between them its peaks."""
    run = logic.get_test(session, test_id)
    chosen = logic.chosen_cycles(session, run, cycles)
    store = files.store_for(request.app.state.settings)
    with store.local_copy(logic.stored_file_of(session, run).sha256) as path:
        answer = logic.voltage_slopes(session, path, run, chosen, points, smoothing)
    if format == "csv":
        return _csv(logic.voltage_slopes_csv(answer), f"test-{test_id}-dvdq.csv")
    if format == "png" or format == "svg":
        title = logic.figure_title(session, run)
        return _figure(figures.dvdq_figure(answer, title, format), format, test_id, "dvdq")
    return answer


@router.get("/tests/{test_id}/profiles", response_model=VoltageProfiles, responses=CSV_PNG_SVG)
def test_profiles(
    test_id: int,
    request: Request,
    session: ReadSession,
    _: Reader,
    cycles: ChosenCycles = None,
    format: FigureFormat = "json",
) -> VoltageProfiles | Response:
    """Voltage against capacity for chosen cycles, each half cycle apart (per gram in the figure when the
    active mass is known)."""
    run = logic.get_test(session, test_id)
    chosen = logic.chosen_cycles(session, run, cycles)
    store = files.store_for(request.app.state.settings)
    with store.local_copy(logic.stored_file_of(session, run).sha256) as path:
        answer = logic.profiles(session, path, run, chosen)
    if format == "csv":
        return _csv(logic.profiles_csv(answer), f"test-{test_id}-profiles.csv")
    if format == "png" or format == "svg":
        title = logic.figure_title(session, run)
        return _figure(figures.profiles_figure(answer, title, format), format, test_id, "profiles")
    return answer


FromZero = Annotated[bool, Query(description="start the capacity axis at zero")]


@router.get("/tests/{test_id}/plot.png", response_class=Response, responses=PNG_SVG)
def test_plot_png(test_id: int, session: ReadSession, _: Reader, from_zero: FromZero = False) -> Response:
    """Capacity and coulombic efficiency against cycle, each on its own axis, with a legend."""
    run = logic.get_test(session, test_id)
    return Response(logic.plot_test(session, run, "png", from_zero), media_type="image/png")


@router.get("/tests/{test_id}/plot.svg", response_class=Response, responses=PNG_SVG)
def test_plot_svg(test_id: int, session: ReadSession, _: Reader, from_zero: FromZero = False) -> Response:
    run = logic.get_test(session, test_id)
    return Response(logic.plot_test(session, run, "svg", from_zero), media_type="image/svg+xml")


@router.get(
    "/tests/{test_id}/records",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}}},
)
def test_records(
    test_id: int,
    request: Request,
    session: ReadSession,
    _: Reader,
    format: Annotated[
        bdf.BdfFormat, Query(description="bdf: a .bdf.csv file; bdf-parquet: the same table as parquet")
    ] = "bdf",
) -> Response:
    """Every record of the run in the Battery Data Format: BDF's column labels and fixed units (current
    positive while charging), read again from the stored cycler file, named by BDF's file-name convention."""
    run = logic.get_test(session, test_id)
    settings: Settings = request.app.state.settings
    store = files.store_for(settings)
    with store.local_copy(logic.stored_file_of(session, run).sha256) as path:
        spooled, size, filename = bdf.export(session, path, run, format, settings.institution_code)

    def chunks() -> Iterator[bytes]:
        with spooled:  # the temporary file goes when the last piece is sent
            while chunk := spooled.read(1024 * 1024):
                yield chunk

    return StreamingResponse(
        chunks(),
        media_type=bdf.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Content-Length": str(size)},
    )
