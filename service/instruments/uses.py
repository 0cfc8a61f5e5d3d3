"""Test runs and steps bound to the instruments they used (a run's channel found from the load history),
with each instrument's calibration state then, and the rule for templates that demand calibrated equipment."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from labrules.validator import InstrumentFacts, calibration_warning
from schemas import Deviation, DeviationIn, ProblemItem
from schemas.instruments import CalibrationState
from schemas.steps import StepInstrumentIn, StepInstrumentOut
from service.errors import Invalid, problem
from service.instruments import queries
from service.instruments.logic import calibration_state
from service.instruments.tables import Channel, ChannelLoad, Instrument, InstrumentUse, StepInstrument

# Where a test run's deviation from "calibrated equipment" points: the channel it ran on.
RUN_POINTER = "/options/channel"


def state_on(session: Session, instrument: Instrument, day: date) -> tuple[CalibrationState, date | None]:
    """The instrument's calibration state on `day`, and the due date of the calibration then in force."""
    assert instrument.id is not None
    in_force = queries.calibration_on(session, instrument.id, day)
    return calibration_state(in_force, day), in_force.due_on if in_force else None


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
        return calibration_warning(
            self.instrument.code, self.state.value, self.began_at.date(), self.channel.code
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
    state, due_on = state_on(session, instrument, began_at.date())
    return Binding(channel, instrument, began_at, state, due_on)


def judge_run(
    binding: Binding | None, ref: str, demanded: bool, deviations: Sequence[DeviationIn]
) -> str | None:
    """A run on a cycler overdue or never calibrated (or on no known channel) under a protocol that demands
    calibrated equipment is refused unless a deviation for /options/channel justifies it; returns that
    justification. A deviation with nothing to excuse is refused too, as a step's is."""
    fault = None
    if demanded and binding is None:
        fault = problem(
            RUN_POINTER,
            f"{ref} demands calibrated equipment: name the channel the run was on, or load the cell first",
            expected="a channel in calibration",
        )
    elif demanded and binding is not None and (warning := binding.warning):
        fault = problem(
            RUN_POINTER,
            f"{ref} demands calibrated equipment: {warning}",
            expected=CalibrationState.in_calibration.value,
            got=binding.state.value,
        )
    problems: list[ProblemItem] = []
    justification = None
    for n, deviation in enumerate(deviations):
        if deviation.field == RUN_POINTER and fault is not None and justification is None:
            justification = deviation.justification
        else:
            problems.append(
                problem(
                    f"/options/deviations/{n}/field",
                    "nothing to deviate from: only an uncalibrated channel under a protocol demanding "
                    "calibrated equipment takes a deviation",
                    expected=RUN_POINTER if fault is not None else "no deviation",
                    got=deviation.field,
                )
            )
    if fault is not None and justification is None:
        problems.insert(0, fault)
    if problems:
        raise Invalid(f"the test run cannot be recorded under {ref}", problems)
    return justification


def record_use(
    session: Session, binding: Binding, test_run_id: int, item_id: int, deviation: str | None = None
) -> None:
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
            deviation=deviation,
        )
    )


@dataclass(frozen=True)
class RunInstrument:
    instrument: str
    channel: str | None
    began_at: datetime
    calibration_state: str
    deviation: str | None = None


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
        use.deviation,
    )


# --- steps ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepUse:
    """An instrument a step names, read before anything is written."""

    role: str
    instrument: Instrument
    kind: str
    used_at: datetime
    state: CalibrationState
    due_on: date | None

    @property
    def facts(self) -> InstrumentFacts:
        return InstrumentFacts(
            self.instrument.code,
            self.kind,
            self.instrument.status == "voided",
            self.state.value,
            self.used_at.date(),
        )

    @property
    def warning(self) -> str | None:
        return calibration_warning(self.instrument.code, self.state.value, self.used_at.date())


def read_step_instruments(
    session: Session, given: Sequence[StepInstrumentIn], at: datetime
) -> tuple[list[StepUse | None], list[ProblemItem]]:
    """Each instrument a step names with its calibration state on the step's day; unknown codes are
    problems (the template's validator judges roles, kinds, voids and calibration)."""
    uses: list[StepUse | None] = []
    problems: list[ProblemItem] = []
    for n, entry in enumerate(given):
        instrument = session.exec(select(Instrument).where(Instrument.code == entry.instrument)).first()
        if instrument is None:
            problems.append(
                problem(f"/instruments/{n}/instrument", "no instrument with this code", got=entry.instrument)
            )
            uses.append(None)
            continue
        state, due_on = state_on(session, instrument, at.date())
        uses.append(StepUse(entry.role, instrument, instrument.kind, at, state, due_on))
    return uses, problems


def record_step_uses(
    session: Session, step_id: int, uses: Sequence[StepUse | None], deviations: Sequence[Deviation]
) -> list[StepInstrumentOut]:
    """Keep the instruments of a logged step (with the justification of a deviation pointing at one), and
    return them as the step shows them."""
    excused = {d.field: d.justification for d in deviations}
    shown = []
    for n, use in enumerate(uses):
        assert use is not None and use.instrument.id is not None  # an unknown one refused the step
        session.add(
            StepInstrument(
                step_id=step_id,
                instrument_id=use.instrument.id,
                role=use.role,
                used_at=use.used_at,
                calibration_state=use.state.value,
                calibration_due_on=use.due_on,
                deviation=excused.get(f"/instruments/{n}"),
            )
        )
        shown.append(_step_instrument_out(use.role, use.instrument, use.state.value, use.due_on, use.used_at))
    return shown


def _step_instrument_out(
    role: str, instrument: Instrument, state: str, due_on: date | None, at: datetime
) -> StepInstrumentOut:
    return StepInstrumentOut(
        role=role,
        instrument=instrument.code,
        kind=instrument.kind,
        calibration_state=state,
        calibration_due_on=due_on,
        warning=calibration_warning(instrument.code, state, at.date()),
    )


def instruments_of_step(session: Session, step_id: int) -> list[StepInstrumentOut]:
    return instruments_used_in(session, [step_id]).get(step_id, [])


def instruments_used_in(session: Session, step_ids: Sequence[int]) -> dict[int, list[StepInstrumentOut]]:
    """The instruments each of these steps used, in one query."""
    if not step_ids:
        return {}
    rows = session.exec(
        select(StepInstrument, Instrument)
        .join(Instrument, col(Instrument.id) == StepInstrument.instrument_id)
        .where(col(StepInstrument.step_id).in_(list(step_ids)))
        .order_by(col(StepInstrument.id))
    ).all()
    used: dict[int, list[StepInstrumentOut]] = {}
    for use, instrument in rows:
        used.setdefault(use.step_id, []).append(
            _step_instrument_out(
                use.role, instrument, use.calibration_state, use.calibration_due_on, use.used_at
            )
        )
    return used


def instruments_of_steps(session: Session, step_ids: Sequence[int]) -> list[tuple[int, str, str, str, str]]:
    """(step, role, instrument code, kind, calibration state) of the steps' instruments, for lineage."""
    if not step_ids:
        return []
    # SQLAlchemy's select: sqlmodel's is typed for at most four columns.
    query = (
        select_columns(
            col(StepInstrument.step_id),
            col(StepInstrument.role),
            col(Instrument.code),
            col(Instrument.kind),
            col(StepInstrument.calibration_state),
        )
        .join(Instrument, col(Instrument.id) == StepInstrument.instrument_id)
        .where(col(StepInstrument.step_id).in_(list(step_ids)))
        .order_by(col(StepInstrument.step_id), col(StepInstrument.id))
    )
    return [tuple(row) for row in session.execute(query).all()]
