"""Stated conventions: reference cycle, CE by cell type, formation cycles, truncated last cycles, fade fits.

Checked on real files against the vendor's own per-cycle numbers (BTSDA's records of the same test, and its
3-level export layout), and through the API on generated files with known answers.
"""

import csv
import io

import pytest

from clients.cycler_model import lfp_cycling, li_cu_plating
from service.cycling import metrics as rules
from service.cycling.detect import read_cycler_file
from service.cycling.readers import ReadOptions
from service.cycling.summary import summarise
from tests.cycler_files import fixture
from tests.test_cycling_api import bench, make_cells, upload
from tests.test_cycling_readers import _three_level_csv, btsda, btsda_steps

__all__ = ["bench"]  # the autouse fixture publishing the protocols make_cells logs against


def _metrics(summary, options: rules.MetricOptions, mass_g: float | None = None) -> dict[str, rules.Metric]:
    return {m.name: m for m in rules.compute_metrics(summary, None, "cycling", options, mass_g)}  # type: ignore[arg-type]


def _vendor_cycles(relative: str) -> dict[int, tuple[float, float]]:
    """(charge, discharge) mAh per BTSDA cycle index, from the vendor's own step capacities."""
    cycles: dict[int, list[float]] = {}
    for kind, cycle, capacity in btsda_steps(btsda(relative)):
        if kind != "rest":
            cycles.setdefault(cycle, [0.0, 0.0])[kind == "discharge"] += capacity
    return {c: (q[0], q[1]) for c, q in cycles.items()}


@pytest.mark.parametrize("layout", ["nda", "three-level csv"])
def test_a_discharge_first_21700_file_gives_the_vendors_ce_not_a_formation_artefact(layout, tmp_path):
    """TestFile.nda starts with a discharge (the cell came charged) and stops after a charge. Read with the
    file's first step as a cycle's start, cycle 1 has a CE of 153 % and the average is far above 100 %."""
    if layout == "nda":
        path = fixture("neware_nda/TestFile.nda")
    else:
        path = tmp_path / "export.csv"
        path.write_text(_three_level_csv(btsda("neware_nda/TestFile.nda")), encoding="utf-8")
    frame = read_cycler_file(path, ReadOptions()).frame
    summary = summarise(frame, "hardware", rules.leading_of("discharge/charge"))
    flags = {c.cycle: (c.complete, c.flag) for c in summary.cycles}
    assert flags == {
        1: (False, "incomplete: no charge"),
        2: (True, None),
        3: (False, "incomplete: no discharge"),
    }
    vendor_charge, vendor_discharge = _vendor_cycles("neware_nda/TestFile.nda")[2]
    metrics = _metrics(summary, rules.MetricOptions())
    assert metrics["average_ce"].value == pytest.approx(100 * vendor_discharge / vendor_charge, abs=1e-3)
    assert 99 < metrics["average_ce"].value < 100.5
    assert metrics["initial_capacity"].value == pytest.approx(vendor_discharge, abs=1e-3)
    assert metrics["initial_capacity"].note == "cycle 2"
    assert "first complete cycle after 0 formation cycle(s)" in metrics["initial_capacity"].convention
    assert metrics["capacity_retention"].value == pytest.approx(100)
    assert "discharge ÷ charge" in metrics["average_ce"].convention


def test_the_150_cycle_file_agrees_with_the_vendor_after_formation():
    relative = "neware_ndax/nw4-120-1-6-53.ndax"
    summary = summarise(read_cycler_file(fixture(relative), ReadOptions()).frame, "hardware", "charge")
    vendor = _vendor_cycles(relative)
    options = rules.MetricOptions(formation_cycles=3)
    metrics = _metrics(summary, options)
    complete = {c.cycle for c in summary.cycles if c.complete}
    expected = [100 * vendor[c][1] / vendor[c][0] for c in sorted(complete) if c > 3]
    assert metrics["average_ce"].value == pytest.approx(sum(expected) / len(expected), rel=1e-4)
    assert metrics["average_ce"].note.startswith("cycles 4-150")
    reference = vendor[4][1]
    assert metrics["initial_capacity"].value == pytest.approx(reference, abs=1e-3)
    assert metrics["capacity_retention"].value == pytest.approx(100 * vendor[150][1] / reference, rel=1e-4)
    below = next(c for c in sorted(complete) if c > 4 and vendor[c][1] < 0.8 * reference)
    assert metrics["cycles_to_80pct"].value == below
    assert metrics["fade_per_cycle"].note == "linear fit, cycles 4-150"
    assert metrics["formation_cycles"].value == 3


def test_a_maccor_file_cut_short_is_flagged_and_never_the_last_cycle():
    frame = read_cycler_file(fixture("maccor_txt/PreDiag_000229_000229_truncated.034"), ReadOptions()).frame
    summary = summarise(frame, "auto", "charge")
    last = summary.cycles[-1]
    assert not last.complete and last.flag is not None and last.flag.startswith("truncated")
    metrics = _metrics(summary, rules.MetricOptions())
    assert metrics["capacity_retention"].value == pytest.approx(100)  # not the 0.0 % of a cut cycle
    assert metrics["capacity_retention"].note == "cycle 1 against 1"


def test_fade_is_a_least_squares_slope_over_the_stated_window():
    points = [(c, 100 - 0.5 * (c - 1) + (0.3 if c % 2 else -0.3)) for c in range(1, 21)]
    assert rules._fade_fit(points) == pytest.approx(0.5, abs=0.01)
    assert rules._fade_fit(points[:1]) is None


def _truncated(content: bytes, keep_share: float) -> bytes:
    """The file with its last discharge cut to `keep_share` of its records."""
    lines = content.decode().splitlines(keepends=True)
    last = max(i for i, line in enumerate(lines) if "CC_Chg" in line)
    tail = len(lines) - last - 1
    return "".join(lines[: last + 1 + 1 + int(tail * keep_share)]).encode()


def test_the_api_states_each_convention_and_the_csvs_say_it(api):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    content = _truncated(lfp_cycling(cycles=30, fade_per_cycle_pct=0.2, points=20), 0.1)
    run = upload(api, cell, content, formation_cycles=2).json()
    metrics = {m["name"]: m for m in run["metrics"]}
    assert metrics["initial_capacity"]["note"] == "cycle 3"
    assert metrics["capacity_retention"]["note"] == "cycle 29 against 3"  # cycle 30 was cut short
    assert metrics["fade_per_cycle"]["value"] == pytest.approx(0.2 / (1 - 0.002 * 2) * 1, rel=0.02)
    assert metrics["average_ce"]["note"].startswith("cycles 3-29")
    assert metrics["formation_cycles"]["note"] == "as asked in the upload"
    assert all(m["convention"] for m in run["metrics"])

    cycles = api.get(f"/tests/{run['id']}/cycles").json()
    assert cycles[0]["flag"].startswith("formation") and cycles[0]["complete"]
    assert not cycles[-1]["complete"] and cycles[-1]["flag"].startswith("truncated")
    table = list(csv.DictReader(io.StringIO(api.get(f"/tests/{run['id']}/cycles?format=csv").text)))
    assert table[-1]["complete"] == "False" and table[-1]["flag"].startswith("truncated")
    sheet = list(csv.DictReader(io.StringIO(api.get(f"/tests/{run['id']}/metrics?format=csv").text)))
    assert {row["name"]: row["convention"] for row in sheet} == {
        m["name"]: m["convention"] for m in run["metrics"]
    }


def test_li_cu_ce_is_stripping_over_plating_and_a_protocol_declares_its_formation(api, admin):
    lfp = admin.get("/templates/lfp-li-cycling").json()
    body = {
        k: lfp[k] for k in ("title", "description", "kind", "parameters", "inputs", "constants", "derived")
    }
    body |= {"name": "lfp-formation-cycling", "checks": lfp.get("checks", [])}
    body["constants"] = {**body["constants"], "formation_cycles": {"value": 2, "unit": "dimensionless"}}
    assert admin.post("/templates", json=body).status_code == 201, body
    cells = make_cells(api, {"bare Li": 2})["bare Li"]
    run = upload(api, cells[0], lfp_cycling(cycles=10), protocol="lfp-formation-cycling@1").json()
    metrics = {m["name"]: m for m in run["metrics"]}
    assert metrics["formation_cycles"]["value"] == 2
    assert metrics["formation_cycles"]["note"] == "from the protocol lfp-formation-cycling@1"
    assert metrics["initial_capacity"]["note"] == "cycle 3"

    plating = upload(api, cells[1], li_cu_plating(cycles=10), protocol="li-cu-coulombic-efficiency@1").json()
    ce = {m["name"]: m for m in plating["metrics"]}["average_ce"]
    assert 98 < ce["value"] < 99.5 and "stripping ÷ plating" in ce["convention"]
    assert plating["leading"] == "discharge"
