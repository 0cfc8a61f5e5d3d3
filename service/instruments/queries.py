"""SQL of instruments: listing with filters, the calibration in force on a day."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, column, func, table
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from service.instruments.tables import (
    Calibration,
    Channel,
    ChannelLoad,
    Instrument,
    InstrumentUse,
    StepInstrument,
)
from service.items.tables import Item


def list_instruments(session: Session, *, kind: str | None, location: str | None) -> list[Instrument]:
    query = select(Instrument).order_by(col(Instrument.code))
    if kind is not None:
        query = query.where(Instrument.kind == kind)
    if location is not None:
        query = query.where(Instrument.location == location)
    return list(session.exec(query).all())


def channel_codes(session: Session, instrument_id: int) -> list[str]:
    query = select(Channel.code).where(Channel.instrument_id == instrument_id).order_by(col(Channel.number))
    return list(session.exec(query).all())


def calibration_on(session: Session, instrument_id: int, day: date) -> Calibration | None:
    """The latest calibration done on or before `day` and not voided: the one in force that day."""
    query = (
        select(Calibration)
        .where(
            Calibration.instrument_id == instrument_id,
            col(Calibration.void_reason).is_(None),
            Calibration.calibrated_on <= day,
        )
        .order_by(col(Calibration.calibrated_on).desc(), col(Calibration.id).desc())
        .limit(1)
    )
    return session.exec(query).first()


def calibrations_of(session: Session, instrument_id: int) -> list[Calibration]:
    query = (
        select(Calibration)
        .where(Calibration.instrument_id == instrument_id)
        .order_by(col(Calibration.calibrated_on), col(Calibration.id))
    )
    return list(session.exec(query).all())


def channel_by_code(session: Session, code: str) -> Channel | None:
    return session.exec(select(Channel).where(Channel.code == code)).first()


def load_on_channel(session: Session, channel_id: int, *, lock: bool = False) -> ChannelLoad | None:
    query = select(ChannelLoad).where(
        ChannelLoad.channel_id == channel_id, col(ChannelLoad.unloaded_at).is_(None)
    )
    return session.exec(query.with_for_update() if lock else query).first()


def load_of_cell(session: Session, item_id: int) -> ChannelLoad | None:
    query = select(ChannelLoad).where(ChannelLoad.item_id == item_id, col(ChannelLoad.unloaded_at).is_(None))
    return session.exec(query).first()


def last_unload_of_channel(session: Session, channel_id: int) -> datetime | None:
    query = select(func.max(ChannelLoad.unloaded_at)).where(ChannelLoad.channel_id == channel_id)
    return session.exec(query).first()


def last_unload_of_cell(session: Session, item_id: int) -> datetime | None:
    query = select(func.max(ChannelLoad.unloaded_at)).where(ChannelLoad.item_id == item_id)
    return session.exec(query).first()


def loads_of_channel(session: Session, channel_id: int) -> list[ChannelLoad]:
    query = select(ChannelLoad).where(ChannelLoad.channel_id == channel_id)
    return list(session.exec(query.order_by(col(ChannelLoad.loaded_at), col(ChannelLoad.id))).all())


def loads_of_cell(session: Session, item_id: int) -> list[ChannelLoad]:
    query = select(ChannelLoad).where(ChannelLoad.item_id == item_id)
    return list(session.exec(query.order_by(col(ChannelLoad.loaded_at), col(ChannelLoad.id))).all())


@dataclass(frozen=True)
class BoardRow:
    code: str
    number: int
    instrument_id: int
    instrument: str
    cell: str | None
    protocol: str | None
    since: datetime | None


def board_rows(session: Session, *, busy: bool | None, channel: str | None = None) -> list[BoardRow]:
    """Every channel of every active cycler with the load on it now, in one query."""
    # SQLAlchemy's select: sqlmodel's is typed for at most four columns.
    query = (
        select_columns(
            col(Channel.code),
            col(Channel.number),
            col(Instrument.id),
            col(Instrument.code),
            col(Item.code),
            col(ChannelLoad.protocol),
            col(ChannelLoad.loaded_at),
        )
        .join(Instrument, col(Instrument.id) == Channel.instrument_id)
        .outerjoin(
            ChannelLoad,
            and_(col(ChannelLoad.channel_id) == Channel.id, col(ChannelLoad.unloaded_at).is_(None)),
        )
        .outerjoin(Item, col(Item.id) == ChannelLoad.item_id)
        .where(col(Instrument.status) != "voided")
        .order_by(col(Instrument.code), col(Channel.number))
    )
    if busy is not None:
        query = query.where(col(ChannelLoad.id).is_not(None) if busy else col(ChannelLoad.id).is_(None))
    if channel is not None:
        query = query.where(col(Channel.code) == channel)
    return [BoardRow(*row) for row in session.execute(query).all()]


def loaded_channels(session: Session, instrument_id: int) -> list[str]:
    """The codes of an instrument's channels that hold a cell now."""
    query = (
        select(Channel.code)
        .join(ChannelLoad, col(ChannelLoad.channel_id) == Channel.id)
        .where(Channel.instrument_id == instrument_id, col(ChannelLoad.unloaded_at).is_(None))
        .order_by(col(Channel.number))
    )
    return list(session.exec(query).all())


# The protocol and status of the runs and steps an instrument was used in, read by name: the cycling and
# steps domains use instruments, so instruments may not import them back.
_TEST_RUNS = table("test_runs", column("id"), column("protocol"), column("status"))
_STEPS = table("steps", column("id"), column("protocol"), column("status"))


@dataclass(frozen=True)
class UseRow:
    kind: str
    id: int
    protocol: str
    status: str
    at: datetime
    state: str
    due_on: date | None
    channel: str | None
    role: str | None
    cell: str | None
    deviation: str | None


def uses_in_states(
    session: Session,
    instrument_id: int,
    states: list[str],
    since: datetime | None,
    until: datetime | None,
    channel_id: int | None = None,
) -> list[UseRow]:
    """The test runs and steps that used the instrument (any channel of a cycler, or the one asked) while
    its calibration was in one of `states`, from `since` up to `until` (excluded), oldest first."""
    runs = (
        select_columns(
            _TEST_RUNS.c.id,
            _TEST_RUNS.c.protocol,
            _TEST_RUNS.c.status,
            col(InstrumentUse.used_at),
            col(InstrumentUse.calibration_state),
            col(InstrumentUse.calibration_due_on),
            col(Channel.code),
            col(Item.code),
            col(InstrumentUse.deviation),
        )
        .join(_TEST_RUNS, _TEST_RUNS.c.id == InstrumentUse.test_run_id)
        .outerjoin(Channel, col(Channel.id) == InstrumentUse.channel_id)
        .join(Item, col(Item.id) == InstrumentUse.item_id)
        .where(
            col(InstrumentUse.instrument_id) == instrument_id,
            col(InstrumentUse.calibration_state).in_(states),
        )
    )
    steps = (
        select_columns(
            _STEPS.c.id,
            _STEPS.c.protocol,
            _STEPS.c.status,
            col(StepInstrument.used_at),
            col(StepInstrument.calibration_state),
            col(StepInstrument.calibration_due_on),
            col(StepInstrument.role),
            col(StepInstrument.deviation),
        )
        .join(_STEPS, _STEPS.c.id == StepInstrument.step_id)
        .where(
            col(StepInstrument.instrument_id) == instrument_id,
            col(StepInstrument.calibration_state).in_(states),
        )
    )
    if channel_id is not None:
        runs = runs.where(col(InstrumentUse.channel_id) == channel_id)
    if since is not None:
        runs = runs.where(col(InstrumentUse.used_at) >= since)
        steps = steps.where(col(StepInstrument.used_at) >= since)
    if until is not None:
        runs = runs.where(col(InstrumentUse.used_at) < until)
        steps = steps.where(col(StepInstrument.used_at) < until)
    found = [
        UseRow("test_run", i, p, st, at, state, due, channel, None, cell, dev)
        for i, p, st, at, state, due, channel, cell, dev in session.execute(runs).all()
    ]
    if channel_id is None:  # a channel's question is about test runs on it; steps use no channel
        found += [
            UseRow("step", i, p, st, at, state, due, None, role, None, dev)
            for i, p, st, at, state, due, role, dev in session.execute(steps).all()
        ]
    return sorted(found, key=lambda row: (row.at, row.kind, row.id))
