"""The instrument pages of /ui, read-only: the channel board a lab looks at each morning, and one
instrument with its calibrations, its channels and what it was used for while out of calibration."""

from fastapi import Request
from fastapi.responses import HTMLResponse

from schemas.instruments import ChannelStatus, InstrumentKind
from service.instruments import channels, logic, queries
from service.ui.pages import ReadSession, Viewer, page, ui_router

router = ui_router()


@router.get("/channels")
def channel_board(
    request: Request, session: ReadSession, user: Viewer, status: ChannelStatus | None = None
) -> HTMLResponse:
    board = channels.board(session, status)
    return page(
        request,
        "channels.html",
        board=board,
        status=status.value if status else "",
        busy=sum(1 for row in board if row.status is ChannelStatus.busy),
        instruments=[
            logic.instrument_out(session, row)
            for row in queries.list_instruments(session, kind=None, location=None)
            if row.kind != InstrumentKind.cycler.value
        ],
    )


@router.get("/instruments/{code}")
def instrument_page(code: str, request: Request, session: ReadSession, user: Viewer) -> HTMLResponse:
    instrument = logic.get_instrument(session, code)
    shown = logic.instrument_out(session, instrument)
    return page(
        request,
        "instrument.html",
        instrument=shown,
        calibrations=[logic.calibration_out(session, c) for c in logic.list_calibrations(session, code)],
        board=[row for row in channels.board(session) if row.instrument == shown.code],
        impact=logic.impact(session, code, None, None),
    )
