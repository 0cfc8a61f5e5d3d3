"""SQL of instruments: listing with filters, the calibration in force on a day."""

from datetime import date

from sqlmodel import Session, col, select

from service.instruments.tables import Calibration, Channel, Instrument


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
