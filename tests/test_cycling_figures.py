"""dQ/dV, dV/dQ and voltage profiles as figures (PNG, SVG) and dV/dQ of a generated two-plateau curve: its
minima sit on the plateaus, its peak on the step between them."""

import csv
import io
import xml.etree.ElementTree as ET

import pytest

from tests.test_cycling_api import bench, make_cells, upload
from tests.test_cycling_dqdv import MAPPING, PLATEAUS_V, _capacity, _two_plateau_file

__all__ = ["bench"]  # the autouse fixture publishing the protocols make_cells logs against

SVG = "{http://www.w3.org/2000/svg}"


def _svg_text(content: bytes) -> str:
    """Every text of an SVG that parses as XML (matplotlib keeps text as text with svg.fonttype none)."""
    root = ET.fromstring(content)
    assert root.tag == f"{SVG}svg"
    return " ".join("".join(node.itertext()) for node in root.iter(f"{SVG}text"))


@pytest.fixture
def run(api):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    created = upload(api, cell, _two_plateau_file(cycles=3), name="plateaus.csv", **MAPPING)
    assert created.status_code == 201, created.text
    return created.json()


@pytest.mark.parametrize("what", ["dqdv", "dvdq", "profiles"])
def test_each_differential_answer_is_a_png_and_an_svg_with_its_legend_and_axes(api, run, what):
    png = api.get(f"/tests/{run['id']}/{what}", params={"cycles": "1,3", "format": "png"})
    assert png.status_code == 200, png.text
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    svg = api.get(f"/tests/{run['id']}/{what}", params={"cycles": "1,3", "format": "svg"})
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    words = _svg_text(svg.content)
    for legend in ("cycle 1 · charge", "cycle 1 · discharge", "cycle 3 · charge", "cycle 3 · discharge"):
        assert legend in words, (what, legend)
    axes = {
        "dqdv": ("voltage / V", "dQ/dV / mAh V⁻¹"),
        "dvdq": ("capacity / mAh", "dV/dQ / V mAh⁻¹"),
        "profiles": ("specific capacity / mAh g⁻¹", "voltage / V"),
    }[what]
    for label in axes:
        assert label in words, (what, label)
    assert f"test {run['id']}" in words


def test_dvdq_has_its_minima_on_the_plateaus_and_its_peak_on_the_step_between(api, run):
    answer = api.get(f"/tests/{run['id']}/dvdq", params={"cycles": "2"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "500 capacity points" in body["method"] and "5-point moving average" in body["method"]
    assert [(c["cycle"], c["direction"]) for c in body["curves"]] == [(2, "charge"), (2, "discharge")]
    total = _capacity(4.2) - _capacity(3.2)
    # Where the plateaus' middles and the step between them lie, in capacity passed since the half began.
    on_charge = [_capacity(p) - _capacity(3.2) for p in PLATEAUS_V]
    step = _capacity(sum(PLATEAUS_V) / 2) - _capacity(3.2)
    for curve in body["curves"]:
        passed, slope = curve["capacity_mAh"], curve["dvdq_V_per_mAh"]
        assert passed[0] == pytest.approx(0, abs=1e-9) and passed[-1] == pytest.approx(total, rel=1e-3)
        sign = 1 if curve["direction"] == "charge" else -1
        # On discharge the high-voltage plateau comes first.
        middles = on_charge if sign == 1 else [total - q for q in reversed(on_charge)]
        edge = step if sign == 1 else total - step
        points = list(zip(passed, (sign * s for s in slope), strict=True))
        assert all(s > 0 for _, s in points), "the voltage moves one way through each half"
        for middle in middles:
            near = [(s, q) for q, s in points if abs(q - middle) < 0.15]
            lowest, at = min(near)
            assert at == pytest.approx(middle, abs=0.01), curve["direction"]
            # On a plateau dQ/dV peaks near 10 mAh/V, so dV/dQ dips to about 0.1 V/mAh.
            assert 0.08 < lowest < 0.2
        between = [(s, q) for q, s in points if middles[0] + 0.1 < q < middles[1] - 0.1]
        highest, at = max(between)
        assert at == pytest.approx(edge, abs=0.03), curve["direction"]
        # Between the plateaus only the 0.2 mAh/V background is left: dV/dQ of 5 V/mAh.
        assert highest == pytest.approx(5, rel=0.05)
    sheet = api.get(f"/tests/{run['id']}/dvdq", params={"cycles": "2", "format": "csv"}).text
    assert sheet.startswith("# capacity integrated")
    rows = list(csv.DictReader(io.StringIO(sheet.split("\n", 1)[1])))
    assert len(rows) == 1000 and set(rows[0]) == {
        "cycle",
        "direction",
        "capacity_mAh",
        "capacity_mAh_g",
        "dvdq_V_per_mAh",
    }
    assert float(rows[-1]["capacity_mAh_g"]) == pytest.approx(total / run["active_mass_g"], rel=1e-3)


def test_bad_cycles_and_formats_are_problems_for_every_figure(api, run):
    for what in ("dqdv", "dvdq", "profiles"):
        for params in ({"cycles": "9", "format": "png"}, {"cycles": "x", "format": "svg"}):
            refused = api.get(f"/tests/{run['id']}/{what}", params=params)
            assert refused.status_code == 422, (what, params)
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["errors"][0]["pointer"] == "query:cycles"
        wrong = api.get(f"/tests/{run['id']}/{what}", params={"format": "gif"})
        assert wrong.status_code == 422 and wrong.headers["content-type"].startswith("application/problem")
        assert api.get(f"/tests/424242/{what}", params={"format": "svg"}).status_code == 404
    assert api.get(f"/tests/{run['id']}/dvdq", params={"points": 3}).status_code == 422
    # An even smoothing window keeps the grid's length (a centred window one point longer on the right).
    even = api.get(f"/tests/{run['id']}/dqdv", params={"cycles": "1", "smoothing": 4})
    assert even.status_code == 200, even.text
