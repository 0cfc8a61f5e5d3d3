"""Cells on cycler channels: loading and unloading, the board of every channel, and the history of both."""

from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from schemas.instruments import CalibrationState, ChannelOut, ChannelStatus, LoadIn, LoadOut, UnloadIn
from schemas.templates import TemplateKind
from service.auth.tables import User
from service.db import utcnow
from service.errors import Conflict, Invalid, NotFound, problem
from service.instruments import queries
from service.instruments.logic import calibration_state
from service.instruments.tables import Channel, ChannelLoad, Instrument
from service.items.logic import get_item
from service.items.tables import Item
from service.templates.logic import usable_template
from service.work import note_event

# A load or unload stamped a little ahead of the server's clock is a lab PC's clock, not the future.
CLOCK_SKEW = timedelta(minutes=5)


def get_channel(session: Session, code: str) -> Channel:
    channel = queries.channel_by_code(session, code)
    if channel is None:
        raise NotFound(f"no channel with code {code!r}", [problem("path:code", "unknown channel", got=code)])
    return channel


def _when(at: datetime | None, pointer: str) -> datetime:
    now = utcnow()
    if at is None:
        return now
    if at > now + CLOCK_SKEW:
        raise Invalid("the time is in the future", [problem(pointer, "must not be in the future", got=at)])
    return at


def _check_protocol(session: Session, ref: str) -> None:
    template, problems = usable_template(session, ref, for_step=False)
    if template is not None and not problems and template.kind != TemplateKind.test:
        problems = [problem("/protocol", f"{ref} is not a test protocol", expected="e.g. lfp-li-cycling@1")]
    if problems:
        raise Invalid(f"{ref} cannot be run on a channel", problems)


def _taken(session: Session, channel: Channel, cell: Item) -> Conflict | None:
    """The 409 for a channel already holding a cell, or a cell already on a channel; None if neither."""
    assert channel.id is not None and cell.id is not None
    on_channel = queries.load_on_channel(session, channel.id)
    if on_channel is not None:
        held = session.get(Item, on_channel.item_id)
        held_code = held.code if held else "?"
        return Conflict(
            f"channel {channel.code} holds {held_code} since {on_channel.loaded_at.isoformat()}",
            [problem("path:code", f"unload {held_code} first", got=held_code)],
        )
    on_cell = queries.load_of_cell(session, cell.id)
    if on_cell is not None:
        other = session.get(Channel, on_cell.channel_id)
        other_code = other.code if other else "?"
        return Conflict(
            f"{cell.code} is on channel {other_code} since {on_cell.loaded_at.isoformat()}",
            [problem("/cell", f"unload it from {other_code} first", got=cell.code)],
        )
    return None


def load_cell(session: Session, user: User, code: str, body: LoadIn) -> ChannelLoad:
    """Put a cell on a channel. A channel holds one cell and a cell sits on one channel at a time: the check
    here names who is in the way, and the partial unique indexes decide a race the check cannot see."""
    channel = get_channel(session, code)
    instrument = session.get(Instrument, channel.instrument_id)
    assert instrument is not None and channel.id is not None and user.id is not None
    if instrument.status == "voided":
        raise Conflict(f"cycler {instrument.code} is voided", [problem("path:code", "a voided cycler")])
    cell = get_item(session, body.cell)
    if cell.kind != "cell":
        raise Invalid(
            f"{cell.code} is a {cell.kind}, not a cell",
            [problem("/cell", "only a cell goes on a channel", got=cell.code)],
        )
    if cell.status == "voided":
        raise Invalid(
            f"{cell.code} is voided", [problem("/cell", "a voided cell is not tested", got=cell.code)]
        )
    if body.protocol is not None:
        _check_protocol(session, body.protocol)
    at = _when(body.at, "/at")
    assert cell.id is not None
    refused = _taken(session, channel, cell)
    if refused is not None:
        raise refused
    # History never overlaps: a load may not begin before the channel or the cell was last freed.
    last = max(
        filter(
            None,
            [
                queries.last_unload_of_channel(session, channel.id),
                queries.last_unload_of_cell(session, cell.id),
            ],
        ),
        default=None,
    )
    if last is not None and at < last:
        raise Invalid(
            "the load is dated before the channel or the cell was last unloaded",
            [problem("/at", "must not be before the last unload", expected=f">= {last.isoformat()}", got=at)],
        )
    load = ChannelLoad(
        channel_id=channel.id,
        item_id=cell.id,
        protocol=body.protocol,
        note=body.note,
        loaded_at=at,
        loaded_by_id=user.id,
    )
    try:
        with session.begin_nested():  # a savepoint: the transaction stays usable to say who won
            session.add(load)
            session.flush()
    except IntegrityError:
        raise _taken(session, channel, cell) or Conflict(
            "the channel or the cell was taken meanwhile"
        ) from None
    note_event(
        session,
        "channel.loaded",
        "channel",
        channel.code,
        data={"cell": cell.code, "protocol": body.protocol, "at": at.isoformat(), "note": body.note},
    )
    return load


def unload_cell(session: Session, user: User, code: str, body: UnloadIn) -> ChannelLoad:
    channel = get_channel(session, code)
    assert channel.id is not None
    load = queries.load_on_channel(session, channel.id, lock=True)
    if load is None:
        raise Conflict(f"channel {code} is free", [problem("path:code", "no cell to unload", got=code)])
    at = _when(body.at, "/at")
    if at < load.loaded_at:
        raise Invalid(
            "the unload is dated before the load",
            [
                problem(
                    "/at", "must not be before the load", expected=f">= {load.loaded_at.isoformat()}", got=at
                )
            ],
        )
    load.unloaded_at, load.unloaded_by_id = at, user.id
    session.add(load)
    session.flush()
    cell = session.get(Item, load.item_id)
    note_event(
        session,
        "channel.unloaded",
        "channel",
        channel.code,
        data={"cell": cell.code if cell else None, "at": at.isoformat()},
    )
    return load


def _username(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return user.username if user is not None else str(user_id)


def load_out(session: Session, load: ChannelLoad) -> LoadOut:
    channel = session.get(Channel, load.channel_id)
    cell = session.get(Item, load.item_id)
    assert channel is not None and cell is not None and load.id is not None
    instrument = session.get(Instrument, channel.instrument_id)
    assert instrument is not None
    return LoadOut(
        id=load.id,
        channel=channel.code,
        instrument=instrument.code,
        cell=cell.code,
        protocol=load.protocol,
        note=load.note,
        loaded_at=load.loaded_at,
        loaded_by=_username(session, load.loaded_by_id) or "?",
        unloaded_at=load.unloaded_at,
        unloaded_by=_username(session, load.unloaded_by_id),
    )


def board(
    session: Session, status: ChannelStatus | None = None, channel: str | None = None, day: date | None = None
) -> list[ChannelOut]:
    """Every channel of every cycler not voided: the cell on it now, since when, and calibration today."""
    today = day or utcnow().date()
    states: dict[int, tuple[CalibrationState, date | None]] = {}
    rows = []
    busy = None if status is None else status is ChannelStatus.busy
    for row in queries.board_rows(session, busy=busy, channel=channel):
        if row.instrument_id not in states:
            in_force = queries.calibration_on(session, row.instrument_id, today)
            states[row.instrument_id] = (
                calibration_state(in_force, today),
                in_force.due_on if in_force else None,
            )
        state, due = states[row.instrument_id]
        rows.append(
            ChannelOut(
                code=row.code,
                instrument=row.instrument,
                number=row.number,
                status=ChannelStatus.busy if row.cell else ChannelStatus.free,
                cell=row.cell,
                protocol=row.protocol,
                since=row.since,
                calibration_state=state,
                calibration_due_on=due,
            )
        )
    return rows


def board_row(session: Session, code: str) -> ChannelOut:
    get_channel(session, code)
    rows = board(session, channel=code)
    if not rows:
        raise NotFound(f"channel {code} belongs to a voided cycler")
    return rows[0]


def channel_history(session: Session, code: str) -> list[ChannelLoad]:
    channel = get_channel(session, code)
    assert channel.id is not None
    return queries.loads_of_channel(session, channel.id)


def cell_history(session: Session, code: str) -> list[ChannelLoad]:
    cell = get_item(session, code)
    assert cell.id is not None
    return queries.loads_of_cell(session, cell.id)
