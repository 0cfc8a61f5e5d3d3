"""Figures of a test run's chosen cycles: dQ/dV, dV/dQ and voltage profiles, drawn in plots.py's look (the
Okabe–Ito palette, labelled axes with units, a legend naming each cycle and half)."""

from typing import Literal

from sqlmodel import Session

from schemas.cycling import DifferentialCapacity, DifferentialVoltage, VoltageProfiles
from service.cycling import logic
from service.cycling.differential import DEFAULT_DVDQ_POINTS, DEFAULT_RESOLUTION_V, DEFAULT_SMOOTHING_POINTS
from service.cycling.plots import PlotFormat, half_cycle_traces, plot_xy
from service.cycling.tables import TestRun
from service.files.store import FileStore

Figure = Literal["dqdv", "dvdq", "profiles"]


def dqdv_figure(answer: DifferentialCapacity, title: str, fmt: PlotFormat) -> bytes:
    traces = half_cycle_traces([(c.cycle, c.direction, c.voltage_V, c.dqdv_mAh_per_V) for c in answer.curves])
    return plot_xy(traces, "voltage / V", "dQ/dV / mAh V⁻¹", f"{title} · dQ/dV", fmt, clip_spikes=True)


def dvdq_figure(answer: DifferentialVoltage, title: str, fmt: PlotFormat) -> bytes:
    """Against the capacity passed in mAh, the unit the slope is in."""
    traces = half_cycle_traces(
        [(c.cycle, c.direction, c.capacity_mAh, c.dvdq_V_per_mAh) for c in answer.curves]
    )
    return plot_xy(traces, "capacity / mAh", "dV/dQ / V mAh⁻¹", f"{title} · dV/dQ", fmt, clip_spikes=True)


def profiles_figure(answer: VoltageProfiles, title: str, fmt: PlotFormat) -> bytes:
    per_gram = bool(answer.profiles) and all(p.capacity_mAh_g is not None for p in answer.profiles)
    traces = half_cycle_traces(
        [
            (p.cycle, p.direction, (p.capacity_mAh_g or []) if per_gram else p.capacity_mAh, p.voltage_V)
            for p in answer.profiles
        ]
    )
    x_label = "specific capacity / mAh g⁻¹" if per_gram else "capacity / mAh"
    return plot_xy(traces, x_label, "voltage / V", f"{title} · voltage profiles", fmt)


def draw(
    session: Session, store: FileStore, run: TestRun, what: Figure, cycles: list[int], fmt: PlotFormat
) -> bytes:
    """One of the figures of the chosen cycles with the default method (the browser's figures)."""
    title = logic.figure_title(session, run)
    with store.local_copy(logic.stored_file_of(session, run).sha256) as path:
        if what == "dqdv":
            answer = logic.differential(
                session, path, run, cycles, DEFAULT_RESOLUTION_V, DEFAULT_SMOOTHING_POINTS
            )
            return dqdv_figure(answer, title, fmt)
        if what == "dvdq":
            slopes = logic.voltage_slopes(
                session, path, run, cycles, DEFAULT_DVDQ_POINTS, DEFAULT_SMOOTHING_POINTS
            )
            return dvdq_figure(slopes, title, fmt)
        return profiles_figure(logic.profiles(session, path, run, cycles), title, fmt)
