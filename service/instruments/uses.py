"""Test runs bound to the channel they ran on: found from the load history, with the calibration then."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from schemas.instruments import CalibrationState
from service.errors import Invalid, problem
from service.instruments import queries
from service.instruments.logic import calibration_state
from service.instruments.tables import Channel, ChannelLoad, Instrument, InstrumentUse


@dataclass(frozen=True)
class Binding:
    """The channel a run is about to be recorded on, decided before anything is written."""

    channel: Channel
    instrument: Instrument
    began_at: datetime
    state: CalibrationState
    due_on: date | None

    @property
    def warning(self) -> str | None:
        if self.state in (CalibrationState.in_calibration, CalibrationState.due):
            return None
        when = "overdue" if self.state is CalibrationState.overdue else "never calibrated"
        return (
            f"{self.instrument.code} was {when} on {self.began_at.date().isoformat()} ({self.channel.code})"
        )


def _load_at(session: Session, item_id: int, at: datetime) -> ChannelLoad | None:
    """The stay of the cell on a channel that covers `at`."""
    query = select(ChannelLoad).where(
        ChannelLoad.item_id == item_id,
        col(ChannelLoad.loaded_at) <= at,
        (col(ChannelLoad.unloaded_at).is_(None)) | (col(ChannelLoad.unloaded_at) >= at),
    )
    return session.exec(query.order_by(col(ChannelLoad.loaded_at).desc())).first()


def bind_run(session: Session, item_id: int, channel_code: str | None, began_at: datetime) -> Binding | None:
    """The channel a test run of the cell ran on: as named, or the one the cell was on when the records
    began; None when neither is known. A channel of a voided cycler is refused."""
    if channel_code is not None:
        channel = queries.channel_by_code(session, channel_code)
        if channel is None:
            raise Invalid(
                "unknown channel", [problem("/options/channel", "no such channel", got=channel_code)]
            )
    else:
        load = _load_at(session, item_id, began_at)
        if load is None:
            return None
        channel = session.get(Channel, load.channel_id)
        assert channel is not None
    instrument = session.get(Instrument, channel.instrument_id)
    assert instrument is not None and instrument.id is not None
    if instrument.status == "voided":
        raise Invalid(
            f"cycler {instrument.code} is voided",
            [problem("/options/channel", "a voided instrument records no test runs", got=channel.code)],
        )
    in_force = queries.calibration_on(session, instrument.id, began_at.date())
    return Binding(
        channel,
        instrument,
        began_at,
        calibration_state(in_force, began_at.date()),
        in_force.due_on if in_force else None,
    )


def record_use(session: Session, binding: Binding, test_run_id: int, item_id: int) -> None:
    assert binding.instrument.id is not None
    session.add(
        InstrumentUse(
            instrument_id=binding.instrument.id,
            channel_id=binding.channel.id,
            test_run_id=test_run_id,
            item_id=item_id,
            used_at=binding.began_at,
            calibration_state=binding.state.value,
            calibration_due_on=binding.due_on,
        )
    )


@dataclass(frozen=True)
class RunInstrument:
    instrument: str
    channel: str | None
    began_at: datetime
    calibration_state: str


def instrument_of_run(session: Session, test_run_id: int) -> RunInstrument | None:
    use = session.exec(select(InstrumentUse).where(InstrumentUse.test_run_id == test_run_id)).first()
    if use is None:
        return None
    instrument = session.get(Instrument, use.instrument_id)
    channel = session.get(Channel, use.channel_id) if use.channel_id else None
    return RunInstrument(
        instrument.code if instrument else "?",
        channel.code if channel else None,
        use.used_at,
        use.calibration_state,
    )
