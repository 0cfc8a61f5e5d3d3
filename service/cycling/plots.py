"""Plots of test runs: capacity and coulombic efficiency against cycle, one cell or several compared."""

import io
import math
import statistics
from dataclasses import dataclass
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")  # no display on a server; must precede pyplot
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

PlotFormat = Literal["png", "svg"]
BandKind = Literal["sd", "range"]
MEDIA_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
# Okabe & Ito (2008), the colour-blind-safe palette Nature Methods recommends: blue, vermillion, bluish green,
# reddish purple, orange, sky blue, yellow, black.
OKABE_ITO = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#f0e442", "#000000"]
# Text stays text in SVG, so a figure for a paper can be edited (font, size) without redrawing it; a fixed
# salt for the ids matplotlib gives clip paths and markers keeps the bytes identical for identical data.
SVG_STYLE: dict[Any, Any] = {"svg.fonttype": "none", "svg.hashsalt": "cellprov"}
# The capacity axis spans at least this share of the largest capacity unless asked to start from zero.
MIN_SPAN = 0.2


@dataclass(frozen=True)
class Series:
    label: str
    cycles: list[int]
    capacity: list[float | None]
    ce_pct: list[float | None]

    low: list[float | None] | None = None
    """With `high`: a band drawn around the capacity (a group's ±1 σ or min–max)."""
    high: list[float | None] | None = None

    @staticmethod
    def finite(values: list[float | None]) -> list[float]:
        """Matplotlib leaves a gap at NaN; None (an incomplete cycle) becomes one."""
        return [math.nan if v is None else v for v in values]


def group_band(label: str, members: list[Series], band: BandKind) -> Series:
    """A group's mean capacity and CE per cycle, over the cells that have that cycle, with a band: ±1 σ
    (sample, n − 1; the mean alone where one cell has the cycle) or min–max."""
    cycles = sorted({c for one in members for c in one.cycles})
    capacity: dict[int, list[float]] = {}
    ce: dict[int, list[float]] = {}
    for one in members:
        for cycle, q, e in zip(one.cycles, one.capacity, one.ce_pct, strict=True):
            if q is not None:
                capacity.setdefault(cycle, []).append(q)
            if e is not None:
                ce.setdefault(cycle, []).append(e)
    mean = [statistics.fmean(capacity[c]) if c in capacity else None for c in cycles]
    if band == "sd":
        spread = [statistics.stdev(capacity[c]) if len(capacity.get(c, [])) > 1 else 0.0 for c in cycles]
        low = [None if m is None else m - s for m, s in zip(mean, spread, strict=True)]
        high = [None if m is None else m + s for m, s in zip(mean, spread, strict=True)]
    else:
        low = [min(capacity[c]) if c in capacity else None for c in cycles]
        high = [max(capacity[c]) if c in capacity else None for c in cycles]
    words = "mean ± 1 σ" if band == "sd" else "mean, min–max"
    return Series(
        f"{label} (n = {len(members)}, {words})",
        cycles,
        mean,
        [statistics.fmean(ce[c]) if c in ce else None for c in cycles],
        low,
        high,
    )


def _render(figure: "plt.Figure", fmt: PlotFormat) -> bytes:
    buffer = io.BytesIO()
    # A fixed date keeps SVG/PNG bytes identical for identical data.
    figure.savefig(
        buffer, format=fmt, dpi=120, bbox_inches="tight", metadata={"Date": None} if fmt == "svg" else {}
    )
    plt.close(figure)
    return buffer.getvalue()


def _series_colour(index: int) -> str:
    return OKABE_ITO[index % len(OKABE_ITO)]


def _capacity_limits(series: list[Series], from_zero: bool) -> tuple[float, float] | None:
    """From zero on request; otherwise around the data but never narrower than MIN_SPAN of its top, so a
    0.8 % fade reads as the small fade it is, not as a cliff."""
    drawn = [v for one in series for v in (*one.capacity, *(one.low or []), *(one.high or []))]
    values = [v for v in drawn if v is not None and math.isfinite(v)]
    if not values:
        return None
    low, high = min(values), max(values)
    if from_zero:
        return 0.0, high * 1.05
    span = max(high - low, MIN_SPAN * abs(high))
    middle = (high + low) / 2
    return max(0.0, middle - 0.55 * span), middle + 0.55 * span


def cycle_figure(
    series: list[Series], capacity_unit: str, title: str, from_zero: bool = False
) -> "plt.Figure":
    """Capacity (left axis, filled circles, solid) and CE (right axis, open triangles, dashed) against cycle
    number, in the Okabe–Ito colour-blind-safe palette. One cell: capacity and CE each have their own colour,
    and each axis is labelled in its series' colour. Several cells: one colour per cell, the marker says
    which axis. Cycle ticks are whole numbers."""
    figure, capacity_axis = plt.subplots(figsize=(7, 4.2))
    ce_axis = capacity_axis.twinx()
    single = len(series) == 1
    handles = []
    for index, one in enumerate(series):
        capacity_colour = _series_colour(index)
        ce_colour = OKABE_ITO[1] if single else capacity_colour
        name = f"{one.label} · " if one.label and not single else ""
        (line,) = capacity_axis.plot(
            one.cycles,
            Series.finite(one.capacity),
            "o-",
            ms=3.5,
            lw=1.2,
            color=capacity_colour,
            label=f"{name}capacity (left)",
        )
        (ce_line,) = ce_axis.plot(
            one.cycles,
            Series.finite(one.ce_pct),
            "^--",
            ms=3.5,
            lw=0.8,
            mfc="none",
            color=ce_colour,
            label=f"{name}coulombic efficiency (right)",
        )
        if one.low is not None and one.high is not None:
            capacity_axis.fill_between(
                one.cycles,
                Series.finite(one.low),
                Series.finite(one.high),
                color=capacity_colour,
                alpha=0.2,
                lw=0,
            )
        handles += [line, ce_line]
    capacity_axis.set_xlabel("cycle")
    capacity_axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    drawn_cycles = [c for one in series for c in one.cycles]
    if drawn_cycles and max(drawn_cycles) - min(drawn_cycles) < 2:
        # One or two cycles: matplotlib's autoscale spans less than one cycle and ticks at 0.96, 0.98 ...
        capacity_axis.set_xlim(min(drawn_cycles) - 1, max(drawn_cycles) + 1)
    capacity_axis.set_ylabel(f"capacity / {capacity_unit}")
    ce_axis.set_ylabel("coulombic efficiency / %")
    if single:
        capacity_axis.set_ylabel(f"capacity / {capacity_unit}", color=OKABE_ITO[0])
        ce_axis.set_ylabel("coulombic efficiency / %", color=OKABE_ITO[1])
    # CE sits near 100 %: without this, matplotlib labels the axis "1e-5 + 9.98e1" and zooms into noise.
    ce_axis.ticklabel_format(axis="y", useOffset=False)
    low, high = ce_axis.get_ylim()
    if high - low < 2:
        middle = (high + low) / 2
        ce_axis.set_ylim(middle - 1, middle + 1)
    capacity_axis.ticklabel_format(axis="y", useOffset=False)
    limits = _capacity_limits(series, from_zero)
    if limits is not None:
        capacity_axis.set_ylim(*limits)
    capacity_axis.set_title(title)
    capacity_axis.grid(alpha=0.3)
    if handles:
        capacity_axis.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.8)
    return figure


def plot_cycles(
    series: list[Series], capacity_unit: str, title: str, fmt: PlotFormat = "png", from_zero: bool = False
) -> bytes:
    with plt.rc_context(SVG_STYLE):
        return _render(cycle_figure(series, capacity_unit, title, from_zero), fmt)


@dataclass(frozen=True)
class Trace:
    """One line of an x–y figure: a half cycle's dQ/dV, dV/dQ or voltage profile, or an impedance spectrum."""

    label: str
    x: list[float]
    y: list[float]
    colour_index: int = 0
    dashed: bool = False


def half_cycle_traces(curves: list[tuple[int, str, list[float], list[float]]]) -> list[Trace]:
    """(cycle, direction, x, y) per half cycle as traces: one colour per cycle, charge solid, discharge
    dashed, each named `cycle N · charge|discharge` in the legend."""
    colour_of: dict[int, int] = {}
    traces = []
    for cycle, direction, x, y in curves:
        colour = colour_of.setdefault(cycle, len(colour_of))
        traces.append(Trace(f"cycle {cycle} · {direction}", x, y, colour, dashed=direction == "discharge"))
    return traces


def _robust_limits(traces: list[Trace]) -> tuple[float, float] | None:
    """The y range of a derivative without the end-of-half spikes: the 1st–99th percentile of every value,
    widened by a fifth. A steep rise at a cut-off voltage would otherwise flatten every peak."""
    values = sorted(v for t in traces for v in t.y if math.isfinite(v))
    if len(values) < 20:
        return None
    low, high = values[len(values) // 100], values[-1 - len(values) // 100]
    low, high = min(low, 0.0), max(high, 0.0)
    margin = 0.2 * (high - low) or 1.0
    return low - margin, high + margin


def xy_figure(
    traces: list[Trace],
    x_label: str,
    y_label: str,
    title: str,
    equal_aspect: bool = False,
    markers: bool = False,
    clip_spikes: bool = False,
) -> "plt.Figure":
    """Lines in the Okabe–Ito palette with labelled axes and a legend (the look of `cycle_figure`). Equal
    aspect for a Nyquist plot, where a semicircle must look round; `clip_spikes` keeps a derivative's
    end-of-half spikes from setting the y range."""
    figure, axis = plt.subplots(figsize=(7, 4.2) if not equal_aspect else (6.2, 5.2))
    for trace in traces:
        axis.plot(
            trace.x,
            trace.y,
            ("o" if markers else "") + ("--" if trace.dashed else "-"),
            ms=3.5,
            lw=1.2,
            mfc="none",
            color=_series_colour(trace.colour_index),
            label=trace.label,
        )
    axis.set_xlabel(x_label)
    axis.set_ylabel(y_label)
    axis.ticklabel_format(useOffset=False)
    if equal_aspect:
        axis.set_aspect("equal", adjustable="datalim")
    if clip_spikes and (limits := _robust_limits(traces)) is not None:
        axis.set_ylim(*limits)
    if any(v < 0 for t in traces for v in t.y if math.isfinite(v)):
        axis.axhline(0, color="#000000", lw=0.6, alpha=0.5)
    axis.set_title(title)
    axis.grid(alpha=0.3)
    if traces:
        axis.legend(loc="best", fontsize=8, framealpha=0.8)
    else:
        axis.text(
            0.5, 0.5, "no data for the chosen cycles", ha="center", va="center", transform=axis.transAxes
        )
    return figure


def plot_xy(
    traces: list[Trace], x_label: str, y_label: str, title: str, fmt: PlotFormat, **style: bool
) -> bytes:
    with plt.rc_context(SVG_STYLE):
        return _render(xy_figure(traces, x_label, y_label, title, **style), fmt)
