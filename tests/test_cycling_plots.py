"""Plots for a paper: colour-blind-safe colours, capacity and CE on their own axes with a legend, whole cycle
numbers, a small fade drawn small."""

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import pytest

from clients.cycler_model import lfp_cycling
from service.cycling.plots import OKABE_ITO, Series, cycle_figure, group_band
from tests.test_cycling_api import bench, make_cells, upload

__all__ = ["bench"]  # the autouse fixture publishing the protocols make_cells logs against


def _fading(label: str, cycles: int = 3, fade: float = 0.008) -> Series:
    numbers = list(range(1, cycles + 1))
    return Series(label, numbers, [147.8 * (1 - fade * (n - 1) / cycles) for n in numbers], [99.8] * cycles)


def test_one_cell_capacity_and_ce_have_their_own_colours_axes_and_legend():
    figure = cycle_figure([_fading("")], "mAh/g", "one cell")
    capacity_axis, ce_axis = figure.axes
    (capacity,), (ce,) = capacity_axis.get_lines(), ce_axis.get_lines()
    assert mcolors.to_hex(capacity.get_color()) == OKABE_ITO[0]
    assert mcolors.to_hex(ce.get_color()) == OKABE_ITO[1]
    assert capacity.get_marker() != ce.get_marker()
    legend = [text.get_text() for text in capacity_axis.get_legend().get_texts()]
    assert legend == ["capacity (left)", "coulombic efficiency (right)"]
    assert ce_axis.get_ylabel() == "coulombic efficiency / %"
    figure.canvas.draw()
    ticks = [t.get_text() for t in capacity_axis.get_xticklabels() if t.get_text()]
    assert ticks and all(t.lstrip("−-").isdigit() for t in ticks), ticks
    plt.close(figure)


@pytest.mark.parametrize("cycles", [1, 2])
def test_one_or_two_cycles_still_get_whole_cycle_ticks(cycles):
    figure = cycle_figure([_fading("", cycles=cycles)], "mAh/g", "a short run")
    capacity_axis = figure.axes[0]
    figure.canvas.draw()
    ticks = [t.get_text() for t in capacity_axis.get_xticklabels() if t.get_text()]
    assert ticks and all(t.lstrip("−-").isdigit() for t in ticks), ticks
    low, high = capacity_axis.get_xlim()
    assert low < 1 and high > cycles
    plt.close(figure)


def test_a_small_fade_stays_small_and_the_axis_starts_at_zero_on_request():
    figure = cycle_figure([_fading("", cycles=100)], "mAh/g", "")
    low, high = figure.axes[0].get_ylim()
    assert high - low >= 0.2 * 147.8  # a 0.8 % fade fills a few percent of the axis, not all of it
    plt.close(figure)
    figure = cycle_figure([_fading("", cycles=100)], "mAh/g", "", from_zero=True)
    assert figure.axes[0].get_ylim()[0] == 0
    plt.close(figure)


def test_several_cells_get_one_palette_colour_each():
    figure = cycle_figure([_fading("CC-0001"), _fading("CC-0002")], "mAh/g", "compared")
    colours = [mcolors.to_hex(line.get_color()) for line in figure.axes[0].get_lines()]
    assert colours == OKABE_ITO[:2]
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert "CC-0002 · coulombic efficiency (right)" in legend
    plt.close(figure)


def test_the_api_plot_is_an_svg_with_text_a_paper_can_edit(api):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    run = upload(api, cell, lfp_cycling(cycles=5)).json()
    svg = api.get(f"/tests/{run['id']}/plot.svg", params={"from_zero": "true"})
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert "coulombic efficiency (right)" in svg.text and OKABE_ITO[1].lower() in svg.text.lower()
    assert api.get(f"/tests/{run['id']}/plot.png").headers["content-type"] == "image/png"


def test_a_group_band_is_the_mean_with_one_sigma_or_the_range():
    members = [
        Series("a", [1, 2], [100.0, 90.0], [99.0, 99.5]),
        Series("b", [1, 2, 3], [102.0, 94.0, 80.0], [99.4, 99.7, 99.9]),
    ]
    sd = group_band("MOF@CoPc", members, "sd")
    assert sd.label == "MOF@CoPc (n = 2, mean ± 1 σ)"
    assert sd.cycles == [1, 2, 3] and sd.capacity == pytest.approx([101.0, 92.0, 80.0])
    assert sd.low == pytest.approx([101 - 2**0.5, 92 - 8**0.5, 80.0])
    assert sd.ce_pct == pytest.approx([99.2, 99.6, 99.9])
    spread = group_band("MOF@CoPc", members, "range")
    assert (spread.low, spread.high) == ([100.0, 90.0, 80.0], [102.0, 94.0, 80.0])


def test_the_comparison_plot_draws_each_groups_band_and_the_json_gives_sigma(api):
    cells = make_cells(api, {"bare Li": 2, "MOF@CoPc/Li anode": 2})
    for kind, fade in (("bare Li", 0.3), ("MOF@CoPc/Li anode", 0.02)):
        for index, cell in enumerate(cells[kind]):
            made = lfp_cycling(cycles=10, fade_per_cycle_pct=fade, specific_capacity=158 + 4 * index)
            assert upload(api, cell, made).status_code == 201
    params = {"by": "role:anode", "format": "svg", "band": "sd"}
    svg = api.get("/tests/compare", params=params)
    assert svg.status_code == 200, svg.text
    assert "MOF@CoPc/Li anode (n = 2, mean ± 1 σ) · capacity (left)" in svg.text
    groups = {g["group"]: g for g in api.get("/tests/compare", params={"by": "role:anode"}).json()["groups"]}
    assert groups["Li foil disc"]["sd"]["initial_capacity"] > 0
    assert api.get("/tests/compare", params={**params, "band": "wide"}).status_code == 422
