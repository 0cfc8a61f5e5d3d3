"""SQL of instruments: listing with filters, the calibration in force on a day."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from service.instruments.tables import Calibration, Channel, ChannelLoad, Instrument
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
