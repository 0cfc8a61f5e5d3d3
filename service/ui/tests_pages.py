"""Test data in the browser: upload a cycler file as a test run of a cell, the test-run page (metrics, plot,
per-cycle table, downloads), and recording an analysis of an item. Each write runs the same domain functions
as its API route (POST /api/v1/items/{code}/tests, POST /api/v1/analyses)."""

import re
from typing import Annotated

from fastapi import Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError

from schemas.analyses import TECHNIQUES, AnalysisFileIn, AnalysisIn, ResultIn
from schemas.common import Quantity
from schemas.cycling import TestOptions
from schemas.templates import TemplateKind
from service.analyses import logic as analyses
from service.analyses.eis import NotASpectrum, named_like_ec_lab
from service.cycling import figures
from service.cycling import logic as cycling
from service.cycling.figures import Figure
from service.db import open_writer, reading
from service.errors import DomainError, Invalid, NotFound, problem
from service.files import logic as files
from service.files.store import Missing
from service.items import logic as items
from service.templates import logic as templates
from service.ui.pages import (
    ReadSession,
    Recorder,
    Viewer,
    check_csrf,
    engine_of,
    page,
    problems_of,
    ui_router,
)
from service.writes import commit_as

router = ui_router()


def test_protocols(session: ReadSession) -> list[str]:
    """Every published version of a test protocol, newest first: what the upload form offers."""
    return [
        f"{t.name}@{v}"
        for t in templates.list_templates(session, TemplateKind.test)
        for v in sorted(t.published, reverse=True)
    ]


@router.post("/items/{code}/tests")
def upload_test(
    code: str,
    request: Request,
    user: Recorder,
    csrf: Annotated[str, Form()],
    file: UploadFile,
    protocol: Annotated[str, Form(max_length=120)] = "",
    active_mass: Annotated[str, Form(max_length=60)] = "",
    formation_cycles: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    check_csrf(request, csrf)
    settings = request.app.state.settings
    try:
        options = TestOptions(
            active_mass=Quantity.model_validate(active_mass) if active_mass.strip() else None,
            formation_cycles=int(formation_cycles) if formation_cycles.strip() else None,
        )
    except (ValidationError, ValueError) as refused:
        raise Invalid(
            "the test options are not valid: give the active mass as e.g. `12.5 mg` and the formation "
            "cycles as a whole number",
            [problem("/options", str(refused).splitlines()[0])],
        ) from None
    with files.Intake(files.store_for(settings)) as arriving:
        stored = arriving.put(file.file, settings.max_file_bytes)
        with arriving.local_copy(stored) as path:
            records, summary = cycling.read_and_summarise(path, options, protocol)
        sniffed = files.media_type(arriving, stored)
        with open_writer(request) as session:
            row = files.record(session, user, stored, file.filename, sniffed)
            run = cycling.record_test(session, user, code, protocol, options, row, records, summary)
            commit_as(session, user, request)
            run_id = run.id
        arriving.keep()  # as the API route: an unreadable or refused file leaves no bytes behind
    return RedirectResponse(f"/ui/tests/{run_id}", status_code=303)


@router.get("/tests/{test_id}")
def test_page(
    test_id: int,
    request: Request,
    session: ReadSession,
    user: Viewer,
    cycles: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """The run's metrics, capacity/CE plot, dQ/dV of a few cycles (first after formation, middle, last; or
    the cycles asked for), and its per-cycle table."""
    run = cycling.get_test(session, test_id)
    shown = cycling.showcase_cycles(session, run)
    refused = ""
    if cycles and cycles.strip():
        try:
            shown = cycling.chosen_cycles(session, run, cycles.replace(" ", ""))
        except Invalid as bad:
            refused = "; ".join([bad.detail, *(e.detail for e in bad.errors)])
    return page(
        request,
        "test_run.html",
        422 if refused else 200,
        run=cycling.run_out(session, run),
        cycles=cycling.cycles_of(session, run),
        shown=",".join(str(c) for c in shown),
        asked=cycles or "",
        refused=refused,
    )


@router.get("/tests/{test_id}/plot.png")
def test_plot(test_id: int, session: ReadSession, user: Viewer) -> Response:
    """The capacity and CE plot of a test run (the API's), behind the session cookie."""
    png = cycling.plot_test(session, cycling.get_test(session, test_id), "png")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


def _figure(
    request: Request, session: ReadSession, test_id: int, what: Figure, cycles: str | None
) -> Response:
    run = cycling.get_test(session, test_id)
    chosen = cycling.chosen_cycles(session, run, cycles)
    store = files.store_for(request.app.state.settings)
    svg = figures.draw(session, store, run, what, chosen, "svg")
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=300"})


ChosenCycles = Annotated[str | None, Query(max_length=200, description="e.g. 1,50,100")]


@router.get("/tests/{test_id}/dqdv.svg")
def test_dqdv_figure(
    test_id: int, request: Request, session: ReadSession, user: Viewer, cycles: ChosenCycles = None
) -> Response:
    """dQ/dV of the chosen cycles (the API's figure, GET /api/v1/tests/{id}/dqdv?format=svg)."""
    return _figure(request, session, test_id, "dqdv", cycles)


@router.get("/tests/{test_id}/dvdq.svg")
def test_dvdq_figure(
    test_id: int, request: Request, session: ReadSession, user: Viewer, cycles: ChosenCycles = None
) -> Response:
    return _figure(request, session, test_id, "dvdq", cycles)


@router.get("/tests/{test_id}/profiles.svg")
def test_profiles_figure(
    test_id: int, request: Request, session: ReadSession, user: Viewer, cycles: ChosenCycles = None
) -> Response:
    return _figure(request, session, test_id, "profiles", cycles)


@router.get("/tests/{test_id}/cycles.csv")
def test_cycles_csv(test_id: int, session: ReadSession, user: Viewer) -> PlainTextResponse:
    cycles = cycling.cycles_of(session, cycling.get_test(session, test_id))
    return PlainTextResponse(
        cycling.cycles_csv(cycles),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="test-{test_id}-cycles.csv"'},
    )


@router.get("/tests/{test_id}/file")
def test_file(test_id: int, request: Request, session: ReadSession, user: Viewer) -> StreamingResponse:
    """The raw cycler file as it was uploaded, streamed from the file store."""
    row = cycling.stored_file_of(session, cycling.get_test(session, test_id))
    store = files.store_for(request.app.state.settings)
    if not store.exists(row.sha256):
        raise Missing(row.sha256)
    return StreamingResponse(
        files.chunks_of(store, row.sha256),
        media_type=row.media_type,
        headers={"Content-Disposition": files.disposition(row.name)},
    )


# "name = value unit", one result a line: e.g. "LiF fraction = 41.7 %".
RESULT_LINE = re.compile(r"^\s*(?P<name>[^=]+?)\s*=\s*(?P<value>[-+0-9.eE]+)\s*(?P<unit>\S.*?)\s*$")


def _results(text: str) -> list[ResultIn]:
    found = []
    for number, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        match = RESULT_LINE.match(line)
        if match is None:
            raise Invalid(
                "write each result as `name = value unit`, e.g. `LiF fraction = 41.7 %`",
                [problem(f"/results/{number}", f"cannot read {line.strip()!r}")],
            )
        found.append(ResultIn(name=match["name"], value=float(match["value"]), unit=match["unit"]))
    return found


@router.get("/items/{code}/analyses/new")
def analysis_form(code: str, request: Request, session: ReadSession, user: Recorder) -> HTMLResponse:
    item = items.item_out(session, items.get_item(session, code))
    return page(request, "analysis_form.html", item=item, techniques=TECHNIQUES, form={}, problems=[])


@router.post("/items/{code}/analyses")
def record_analysis(
    code: str,
    request: Request,
    user: Recorder,
    csrf: Annotated[str, Form()],
    technique: Annotated[str, Form(max_length=40)] = "",
    instrument: Annotated[str, Form(max_length=200)] = "",
    title: Annotated[str, Form(max_length=200)] = "",
    results: Annotated[str, Form(max_length=20000)] = "",
    notes: Annotated[str, Form(max_length=20000)] = "",
    files_: Annotated[list[UploadFile] | None, Form(alias="files")] = None,
) -> Response:
    check_csrf(request, csrf)
    settings = request.app.state.settings
    form = {
        "technique": technique,
        "instrument": instrument,
        "title": title,
        "results": results,
        "notes": notes,
    }
    with files.Intake(files.store_for(settings)) as arriving:
        try:
            body = AnalysisIn.model_validate(
                {
                    "technique": technique,
                    "subjects": [code],
                    "instrument": instrument,
                    "title": title,
                    "results": _results(results),
                    "notes": notes,
                }
            )
            uploads = [
                (upload.filename, arriving.put(upload.file, settings.max_file_bytes, "/files"))
                for upload in files_ or []
                if upload.filename
            ]
            with open_writer(request) as session:
                rows = [
                    files.record(session, user, stored, name, files.media_type(arriving, stored))
                    for name, stored in uploads
                ]
                attached = [AnalysisFileIn(sha256=row.sha256, label=row.name) for row in rows]
                analyses.record_analysis(session, user, body.model_copy(update={"files": attached}))
                commit_as(session, user, request)
            arriving.keep()
        except (DomainError, ValidationError) as refused:
            with reading(engine_of(request)) as session:
                item = items.item_out(session, items.get_item(session, code))
            return page(
                request,
                "analysis_form.html",
                422,
                item=item,
                techniques=TECHNIQUES,
                form=form,
                problems=problems_of(refused),
            )
    return RedirectResponse(f"/ui/items/{code}#analyses", status_code=303)


@router.get("/analyses/{analysis_id}")
def analysis_page(analysis_id: int, request: Request, session: ReadSession, user: Viewer) -> HTMLResponse:
    """An analysis: what it characterises, its results and files, and the Nyquist plot of an impedance
    spectrum among its files."""
    shown = analyses.analysis_out(session, analyses.get_analysis(session, analysis_id))
    spectrum, why = None, ""
    # Only where a spectrum may be: trying a file fetches it from the store, and an XRD or SEM file is no EIS.
    if shown.files and (shown.technique == "EIS" or any(named_like_ec_lab(f.name) for f in shown.files)):
        try:
            spectrum = analyses.nyquist(session, files.store_for(request.app.state.settings), analysis_id)
        except NotASpectrum as refused:
            why = refused.detail
    return page(request, "analysis.html", analysis=shown, spectrum=spectrum, why=why)


@router.get("/analyses/{analysis_id}/nyquist.svg")
def analysis_nyquist(analysis_id: int, request: Request, session: ReadSession, user: Viewer) -> Response:
    """The Nyquist plot of the analysis's impedance spectrum (the API's, GET
    /api/v1/analyses/{id}/nyquist?format=svg), behind the session cookie."""
    answer = analyses.nyquist(session, files.store_for(request.app.state.settings), analysis_id)
    return Response(
        analyses.nyquist_figure(answer, "svg"),
        media_type="image/svg+xml",
        headers={"Cache-Control": "private, max-age=300"},
    )


@router.get("/analyses/{analysis_id}/files/{sha256}")
def analysis_file(
    analysis_id: int, sha256: str, request: Request, session: ReadSession, user: Viewer
) -> StreamingResponse:
    """A file of the analysis as it was uploaded, streamed from the file store."""
    shown = analyses.analysis_out(session, analyses.get_analysis(session, analysis_id))
    attached = next((f for f in shown.files if f.sha256 == sha256), None)
    if attached is None:
        raise NotFound(f"analysis {analysis_id} has no file {sha256[:12]}")
    store = files.store_for(request.app.state.settings)
    if not store.exists(sha256):
        raise Missing(sha256)
    return StreamingResponse(
        files.chunks_of(store, sha256),
        media_type=attached.media_type,
        headers={"Content-Disposition": files.disposition(attached.name)},
    )
