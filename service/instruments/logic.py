"""The rules for instruments: registering them (a cycler with its channels), calibrations, voids, states."""

from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, col, select

from schemas.instruments import (
    CalibrationIn,
    CalibrationOut,
    CalibrationState,
    ImpactOut,
    ImpactRow,
    InstrumentIn,
    InstrumentKind,
    InstrumentOut,
    UseKind,
)
from service.auth.tables import User
from service.db import utcnow
from service.errors import Conflict, Invalid, NotFound, problem
from service.files.tables import StoredFile
from service.instruments import queries
from service.instruments.tables import Calibration, Channel, Instrument
from service.work import note_event

# A calibration this close to its due date is "due": time to book the service visit.
DUE_WITHIN = timedelta(days=30)


def _username(session: Session, user_id: int) -> str:
    user = session.get(User, user_id)
    return user.username if user is not None else str(user_id)


def calibration_state(calibration: Calibration | None, day: date) -> CalibrationState:
    """In calibration, due (within DUE_WITHIN of its due date) or overdue on `day`; never if none in force."""
    if calibration is None:
        return CalibrationState.never
    if day > calibration.due_on:
        return CalibrationState.overdue
    if calibration.due_on - day <= DUE_WITHIN:
        return CalibrationState.due
    return CalibrationState.in_calibration


def get_instrument(session: Session, code: str, *, lock: bool = False) -> Instrument:
    query = select(Instrument).where(Instrument.code == code)
    instrument = session.exec(query.with_for_update() if lock else query).first()
    if instrument is None:
        raise NotFound(f"no instrument with code {code!r}")
    return instrument


def instrument_out(session: Session, instrument: Instrument, today: date | None = None) -> InstrumentOut:
    assert instrument.id is not None
    day = today or utcnow().date()
    in_force = queries.calibration_on(session, instrument.id, day)
    return InstrumentOut(
        code=instrument.code,
        kind=InstrumentKind(instrument.kind),
        make=instrument.make,
        model=instrument.model,
        serial=instrument.serial,
        location=instrument.location,
        status=instrument.status,
        void_reason=instrument.void_reason,
        channels=queries.channel_codes(session, instrument.id),
        calibration_state=calibration_state(in_force, day),
        calibration_due_on=in_force.due_on if in_force else None,
        created_at=instrument.created_at,
        created_by=_username(session, instrument.created_by_id),
    )


def register_instrument(session: Session, user: User, body: InstrumentIn) -> Instrument:
    """A new instrument; a cycler gets its channels CODE-1 .. CODE-n in the same transaction."""
    if session.exec(select(Instrument).where(Instrument.code == body.code)).first() is not None:
        raise Conflict(
            "an instrument with this code exists", [problem("/code", "already used", got=body.code)]
        )
    channel_codes = [f"{body.code}-{n}" for n in range(1, (body.channels or 0) + 1)]
    if channel_codes and session.exec(select(Channel).where(col(Channel.code).in_(channel_codes))).first():
        raise Conflict(
            "a channel code this cycler would get is taken", [problem("/code", "clashes", got=body.code)]
        )
    assert user.id is not None
    instrument = Instrument(
        code=body.code,
        kind=body.kind.value,
        make=body.make,
        model=body.model,
        serial=body.serial,
        location=body.location,
        created_at=utcnow(),
        created_by_id=user.id,
    )
    session.add(instrument)
    session.flush()
    assert instrument.id is not None
    for number, code in enumerate(channel_codes, start=1):
        session.add(Channel(code=code, instrument_id=instrument.id, number=number))
    session.flush()
    note_event(
        session,
        "instrument.registered",
        "instrument",
        body.code,
        version=1,
        data=body.model_dump(mode="json"),
    )
    return instrument


def void_instrument(session: Session, user: User, code: str, reason: str) -> Instrument:
    instrument = get_instrument(session, code, lock=True)
    if instrument.status == "voided":
        raise Conflict(f"instrument {code} is already voided", [problem("/reason", "already voided")])
    assert instrument.id is not None
    loaded = queries.loaded_channels(session, instrument.id)
    if loaded:
        raise Conflict(
            f"cells are on {', '.join(loaded)}",
            [problem("path:code", "unload its channels first", got=loaded)],
        )
    instrument.status = "voided"
    instrument.void_reason = reason
    session.add(instrument)
    session.flush()
    note_event(session, "instrument.voided", "instrument", code, reason=reason)
    return instrument


def calibration_out(session: Session, calibration: Calibration) -> CalibrationOut:
    assert calibration.id is not None
    return CalibrationOut(
        id=calibration.id,
        calibrated_on=calibration.calibrated_on,
        due_on=calibration.due_on,
        by=calibration.by,
        certificate=calibration.certificate_sha256,
        note=calibration.note,
        recorded_at=calibration.recorded_at,
        recorded_by=_username(session, calibration.recorded_by_id),
        voided=calibration.void_reason is not None,
        void_reason=calibration.void_reason,
    )


def record_calibration(session: Session, user: User, code: str, body: CalibrationIn) -> Calibration:
    instrument = get_instrument(session, code)
    if instrument.status == "voided":
        raise Conflict(
            f"instrument {code} is voided", [problem("/", "a voided instrument is not calibrated")]
        )
    if body.certificate is not None:
        stored = session.exec(select(StoredFile).where(StoredFile.sha256 == body.certificate)).first()
        if stored is None:
            raise Invalid(
                "the certificate is not a stored file",
                [problem("/certificate", "upload it with POST /files first", got=body.certificate)],
            )
    assert instrument.id is not None and user.id is not None
    calibration = Calibration(
        instrument_id=instrument.id,
        calibrated_on=body.calibrated_on,
        due_on=body.due_on,
        by=body.by,
        certificate_sha256=body.certificate,
        note=body.note,
        recorded_at=utcnow(),
        recorded_by_id=user.id,
    )
    session.add(calibration)
    session.flush()
    note_event(
        session,
        "calibration.recorded",
        "instrument",
        code,
        data={"id": calibration.id, **body.model_dump(mode="json")},
    )
    return calibration


def list_calibrations(session: Session, code: str) -> list[Calibration]:
    instrument = get_instrument(session, code)
    assert instrument.id is not None
    return queries.calibrations_of(session, instrument.id)


def void_calibration(
    session: Session, user: User, code: str, calibration_id: int, reason: str
) -> Calibration:
    instrument = get_instrument(session, code)
    query = select(Calibration).where(
        Calibration.id == calibration_id, Calibration.instrument_id == instrument.id
    )
    calibration = session.exec(query.with_for_update()).first()
    if calibration is None:
        raise NotFound(f"instrument {code} has no calibration {calibration_id}")
    if calibration.void_reason is not None:
        raise Conflict(
            f"calibration {calibration_id} is already voided", [problem("/reason", "already voided")]
        )
    calibration.void_reason = reason
    session.add(calibration)
    session.flush()
    note_event(session, "calibration.voided", "instrument", code, data={"id": calibration_id}, reason=reason)
    return calibration


# What "used while not in calibration" means: due is listed too, for the lab to see what ran close to it.
NOT_CALIBRATED = [CalibrationState.overdue.value, CalibrationState.never.value]
AT_RISK = [*NOT_CALIBRATED, CalibrationState.due.value]


def impact(
    session: Session, code: str, day_from: date | None, day_to: date | None, *, with_due: bool = True
) -> ImpactOut:
    """Which test runs and steps used this instrument (or, for a cycler, any of its channels; or the one
    channel named) while its calibration was overdue, never done, or due, from `day_from` to `day_to`
    (both days included). The recall question, asked of an instrument."""
    if day_from is not None and day_to is not None and day_to < day_from:
        raise Invalid(
            "the period ends before it begins",
            [problem("query:to", "must not be before from", expected=f">= {day_from}", got=str(day_to))],
        )
    channel = queries.channel_by_code(session, code)
    instrument = (
        session.get(Instrument, channel.instrument_id)
        if channel is not None
        else get_instrument(session, code)
    )
    assert instrument is not None and instrument.id is not None
    rows = queries.uses_in_states(
        session,
        instrument.id,
        AT_RISK if with_due else NOT_CALIBRATED,
        datetime.combine(day_from, time.min, UTC) if day_from else None,
        datetime.combine(day_to + timedelta(days=1), time.min, UTC) if day_to else None,
        channel.id if channel is not None else None,
    )
    return ImpactOut(
        instrument=code,
        kind=InstrumentKind(instrument.kind),
        from_=day_from,
        to=day_to,
        uses=[
            ImpactRow(
                kind=UseKind(row.kind),
                id=row.id,
                protocol=row.protocol,
                status=row.status,
                at=row.at,
                calibration_state=CalibrationState(row.state),
                calibration_due_on=row.due_on,
                channel=row.channel,
                role=row.role,
                cell=row.cell,
                deviation=row.deviation,
            )
            for row in rows
        ],
    )
