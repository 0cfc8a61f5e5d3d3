"""HTTP routes for instruments and their calibration records."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from schemas import VoidIn
from schemas.instruments import (
    CalibrationIn,
    CalibrationOut,
    ChannelOut,
    ChannelStatus,
    ImpactOut,
    InstrumentIn,
    InstrumentKind,
    InstrumentOut,
    LoadIn,
    LoadOut,
    UnloadIn,
)
from service.auth.deps import Reader, Recorder
from service.db import ReadSession, RowId, WriteSession
from service.instruments import channels, logic, queries
from service.writes import commit_once

router = APIRouter(tags=["instruments"])


@router.get("/instruments")
def list_instruments(
    session: ReadSession, _: Reader, kind: InstrumentKind | None = None, location: str | None = None
) -> list[InstrumentOut]:
    rows = queries.list_instruments(session, kind=kind.value if kind else None, location=location)
    return [logic.instrument_out(session, row) for row in rows]


@router.post("/instruments", status_code=201, response_model=InstrumentOut)
def register_instrument(
    body: InstrumentIn, request: Request, session: WriteSession, user: Recorder
) -> Response:
    """Register an instrument; a cycler gets its channels CODE-1 .. CODE-n."""
    return commit_once(
        request,
        session,
        user,
        body,
        lambda: logic.instrument_out(session, logic.register_instrument(session, user, body)),
    )


@router.get("/instruments/{code}")
def get_instrument(code: str, session: ReadSession, _: Reader) -> InstrumentOut:
    return logic.instrument_out(session, logic.get_instrument(session, code))


@router.post("/instruments/{code}/void", response_model=InstrumentOut)
def void_instrument(
    code: str, body: VoidIn, request: Request, session: WriteSession, user: Recorder
) -> Response:
    """Void an instrument registered by mistake; it stays readable with its reason."""
    return commit_once(
        request,
        session,
        user,
        body,
        lambda: logic.instrument_out(session, logic.void_instrument(session, user, code, body.reason)),
        status_code=200,
    )


@router.get("/instruments/{code}/impact", response_model=ImpactOut)
def instrument_impact(
    code: str,
    session: ReadSession,
    _: Reader,
    day_from: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    due: Annotated[bool, Query(description="also list uses while the calibration was due")] = True,
) -> ImpactOut:
    """Which test runs and steps used this instrument (any channel of a cycler, or the channel named) while
    its calibration was overdue, never done or due, from `from` to `to` (days, both included)."""
    return logic.impact(session, code, day_from, to, with_due=due)


@router.get("/instruments/{code}/calibrations")
def list_calibrations(code: str, session: ReadSession, _: Reader) -> list[CalibrationOut]:
    return [logic.calibration_out(session, c) for c in logic.list_calibrations(session, code)]


@router.post("/instruments/{code}/calibrations", status_code=201, response_model=CalibrationOut)
def record_calibration(
    code: str, body: CalibrationIn, request: Request, session: WriteSession, user: Recorder
) -> Response:
    """Record a calibration: when, when the next is due, by whom, and the certificate's sha256."""
    return commit_once(
        request,
        session,
        user,
        body,
        lambda: logic.calibration_out(session, logic.record_calibration(session, user, code, body)),
    )


@router.post("/instruments/{code}/calibrations/{calibration_id}/void", response_model=CalibrationOut)
def void_calibration(
    code: str, calibration_id: RowId, body: VoidIn, request: Request, session: WriteSession, user: Recorder
) -> Response:
    """Void a calibration recorded by mistake; it no longer counts, and stays readable with its reason."""
    return commit_once(
        request,
        session,
        user,
        body,
        lambda: logic.calibration_out(
            session, logic.void_calibration(session, user, code, calibration_id, body.reason)
        ),
        status_code=200,
    )


@router.get("/channels")
def channel_board(session: ReadSession, _: Reader, status: ChannelStatus | None = None) -> list[ChannelOut]:
    """The board: every channel of every cycler, the cell on it and since when, and calibration today."""
    return channels.board(session, status)


@router.get("/channels/{code}")
def get_channel(code: str, session: ReadSession, _: Reader) -> ChannelOut:
    return channels.board_row(session, code)


@router.get("/channels/{code}/history")
def channel_history(code: str, session: ReadSession, _: Reader) -> list[LoadOut]:
    """Every cell that was on this channel, from when to when."""
    return [channels.load_out(session, load) for load in channels.channel_history(session, code)]


@router.get("/items/{code}/channels")
def cell_channels(code: str, session: ReadSession, _: Reader) -> list[LoadOut]:
    """Every channel this cell was on, from when to when."""
    return [channels.load_out(session, load) for load in channels.cell_history(session, code)]


@router.post("/channels/{code}/load", status_code=201, response_model=LoadOut)
def load_cell(code: str, body: LoadIn, request: Request, session: WriteSession, user: Recorder) -> Response:
    """Put a cell on a channel; a channel already holding a cell, or a cell already on one, is a 409."""
    return commit_once(
        request,
        session,
        user,
        body,
        lambda: channels.load_out(session, channels.load_cell(session, user, code, body)),
    )


@router.post("/channels/{code}/unload", response_model=LoadOut)
def unload_cell(
    code: str, body: UnloadIn, request: Request, session: WriteSession, user: Recorder
) -> Response:
    """Take the cell off a channel."""
    return commit_once(
        request,
        session,
        user,
        body,
        lambda: channels.load_out(session, channels.unload_cell(session, user, code, body)),
        status_code=200,
    )
