"""Plots of test runs: capacity and coulombic efficiency against cycle, one cell or several compared."""

import io
import math
from dataclasses import dataclass
from typing import Literal

import matplotlib

matplotlib.use("Agg")  # no display on a server; must precede pyplot
import matplotlib.pyplot as plt

PlotFormat = Literal["png", "svg"]
MEDIA_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


@dataclass(frozen=True)
class Series:
    label: str
    cycles: list[int]
    capacity: list[float | None]
    ce_pct: list[float | None]

    @staticmethod
    def finite(values: list[float | None]) -> list[float]:
        """Matplotlib leaves a gap at NaN; None (an incomplete cycle) becomes one."""
        return [math.nan if v is None else v for v in values]


def _render(figure: "plt.Figure", fmt: PlotFormat) -> bytes:
    buffer = io.BytesIO()
    # A fixed date keeps SVG/PNG bytes identical for identical data.
    figure.savefig(
        buffer, format=fmt, dpi=120, bbox_inches="tight", metadata={"Date": None} if fmt == "svg" else {}
    )
    plt.close(figure)
    return buffer.getvalue()


def plot_cycles(series: list[Series], capacity_unit: str, title: str, fmt: PlotFormat = "png") -> bytes:
    """Capacity (left axis, filled markers) and CE (right axis, open markers) against cycle number."""
    figure, capacity_axis = plt.subplots(figsize=(7, 4.2))
    ce_axis = capacity_axis.twinx()
    for index, one in enumerate(series):
        colour = f"C{index % 10}"
        capacity_axis.plot(
            one.cycles, Series.finite(one.capacity), "o-", ms=3, lw=1, color=colour, label=one.label
        )
        ce_axis.plot(one.cycles, Series.finite(one.ce_pct), "o", ms=3, mfc="none", color=colour, alpha=0.6)
    capacity_axis.set_xlabel("cycle")
    capacity_axis.set_ylabel(f"capacity / {capacity_unit}")
    ce_axis.set_ylabel("coulombic efficiency / %")
    # CE sits near 100 %: without this, matplotlib labels the axis "1e-5 + 9.98e1" and zooms into noise.
    ce_axis.ticklabel_format(axis="y", useOffset=False)
    low, high = ce_axis.get_ylim()
    if high - low < 2:
        middle = (high + low) / 2
        ce_axis.set_ylim(middle - 1, middle + 1)
    capacity_axis.ticklabel_format(axis="y", useOffset=False)
    capacity_axis.set_title(title)
    capacity_axis.grid(alpha=0.3)
    if len(series) > 1 or (series and series[0].label):
        capacity_axis.legend(loc="lower left", fontsize=8)
    return _render(figure, fmt)
