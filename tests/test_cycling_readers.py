"""Readers and per-cycle summaries against the vendors' own numbers (tolerances from fixtures/SOURCES.md)."""

import csv
import io
import math
import warnings
from dataclasses import replace
from functools import cache
from pathlib import Path

import polars as pl
import pytest

from service.cycling.detect import detect_format, read_cycler_file
from service.cycling.readers import ReadOptions, Records, UnreadableFile, number
from service.cycling.summary import segments_of, summarise
from tests.cycler_files import fixture, has_galvani

# BTSDA's text export is rounded: these are the tolerances SOURCES.md states for it (voltage: 5e-5 V, plus the
# float32 the parquet stores it in, as in SOURCES' own fastnda cross-check, ≤ 5.1e-5 V).
VOLTAGE_V = 5.1e-5
CURRENT_MA = 0.05
CAPACITY_MAH = 6e-4

NEWARE_BINARIES = [
    "neware_nda/TestFile.nda",
    "neware_nda/new_nda_file.nda",
    "neware_ndax/nw4-120-1-6-53.ndax",
    "neware_ndax/46_1_5_60_bts16.ndax",
    "neware_ndax/interp-test.ndax",
    "neware_ndax/21_10_7_85.ndax",
    "neware_ndax/scrubbed_ndc2.ndax",
]


@cache
def read(relative: str) -> Records:
    """Each fixture is parsed once per test session."""
    return read_cycler_file(fixture(relative), ReadOptions())


@cache
def btsda(relative: str) -> pl.DataFrame:
    return pl.read_parquet(fixture(str(Path(relative).with_suffix(".btsda.parquet"))))


def _charge_kind(step_type: str) -> str:
    name = step_type.lower()
    return "discharge" if "dchg" in name else "charge" if "chg" in name else "rest"


def btsda_steps(reference: pl.DataFrame) -> list[tuple[str, int, float]]:
    """(kind, cycle index, capacity mAh) of each step in BTSDA's own export."""
    steps = reference.group_by("Step Count", maintain_order=True).agg(
        pl.col("Step Type").cast(pl.String).first(),
        pl.col("Cycle Index").first(),
        (pl.col("Capacity(mAs)").abs().max() / 3600).alias("capacity"),
    )
    return [(_charge_kind(t), c, q) for _, t, c, q in steps.iter_rows()]


@pytest.mark.parametrize("relative", NEWARE_BINARIES)
def test_neware_binaries_match_btsda_record_by_record(relative):
    records = read(relative)
    reference = btsda(relative)
    assert records.parser == "fastnda" and records.parser_version
    assert records.frame.height == reference.height
    ours = records.frame
    assert (ours["voltage_V"] - reference["Voltage(mV)"].cast(pl.Float64) / 1000).abs().max() <= VOLTAGE_V
    assert (ours["current_mA"] - reference["Current(uA)"].cast(pl.Float64) / 1000).abs().max() <= CURRENT_MA
    capacity = reference["Capacity(mAs)"].cast(pl.Float64).abs() / 3600
    assert (ours["capacity_mAh"] - capacity).abs().max() <= CAPACITY_MAH
    assert ours["hw_cycle"].to_list() == reference["Cycle Index"].cast(pl.Int64).to_list()


@pytest.mark.parametrize("relative", NEWARE_BINARIES)
def test_neware_per_cycle_capacities_match_btsda(relative):
    records = read(relative)
    steps = btsda_steps(btsda(relative))
    segments = segments_of(records.frame)
    assert [s.kind for s in segments] == [kind for kind, _, _ in steps]
    for segment, (_, _, capacity) in zip(segments, steps, strict=True):
        assert segment.capacity_mAh == pytest.approx(capacity, abs=CAPACITY_MAH)

    summary = summarise(records.frame, cycle_by="hardware")
    for cycle in summary.cycles:
        in_cycle = [s for s in steps if s[1] == cycle.cycle]
        charge = sum(q for kind, _, q in in_cycle if kind == "charge")
        discharge = sum(q for kind, _, q in in_cycle if kind == "discharge")
        assert cycle.charge_mAh == pytest.approx(charge, abs=CAPACITY_MAH * len(in_cycle))
        assert cycle.discharge_mAh == pytest.approx(discharge, abs=CAPACITY_MAH * len(in_cycle))


def test_steps_numbered_out_of_time_order_give_the_same_segments():
    """Step ids in time order take a faster path; ids that do not increase (counting down here) the general
    one. Both must summarise the same steps the same way."""
    frame = read("neware_ndax/nw4-120-1-6-53.ndax").frame
    counted_down = frame.with_columns((10_000 - pl.col("step")).alias("step"))
    in_order, reversed_ids = segments_of(frame), segments_of(counted_down)
    assert [replace(s, step=0) for s in in_order] == [replace(s, step=0) for s in reversed_ids]


def test_cellprov_cycle_numbers_follow_current_sign_and_keep_the_hardware_index():
    """nw4 starts with a charge: cellprov's cycles start at each charge after a discharge. 150 hardware
    cycles hold 160 such cycles (NewareNDA's default mode counts the same 160)."""
    summary = summarise(read("neware_ndax/nw4-120-1-6-53.ndax").frame)
    assert summary.leading == "charge"
    assert len(summary.cycles) == 160
    assert {c.hw_cycle for c in summary.cycles} == set(range(1, 151))
    test_file = summarise(read("neware_nda/TestFile.nda").frame)
    assert [c.cycle for c in test_file.cycles] == [c.hw_cycle for c in test_file.cycles]


def test_fast_fade_is_measured_on_the_150_cycle_file():
    summary = summarise(read("neware_ndax/nw4-120-1-6-53.ndax").frame)
    discharge = [c.discharge_mAh for c in summary.cycles]
    assert discharge[-1] < 0.5 * max(discharge)
    complete = sorted(c.ce_pct for c in summary.cycles if c.ce_pct is not None)
    assert 50 < complete[len(complete) // 2] < 105


def test_btsda_flat_csv_matches_its_parquet():
    records = read("neware_csv/interp-test.csv")
    reference = btsda("neware_ndax/interp-test.ndax")
    assert records.file_format == "neware_csv"
    assert records.frame.height == reference.height == 333
    assert (
        records.frame["voltage_V"] - reference["Voltage(mV)"].cast(pl.Float64) / 1000
    ).abs().max() <= VOLTAGE_V
    assert records.frame["time_s"].to_list() == pytest.approx(reference["Total Time"].to_list(), abs=1e-3)


def _three_level_csv(reference: pl.DataFrame) -> str:
    """A BTSDA 3-level export (cycle rows, step rows after one comma, record rows after two) built from a
    vendor record table, with the units of BTSDA's defaults (mAh, mWh, V, mA)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Cycle ID", "Cap_Chg(mAh)", "Cap_DChg(mAh)"])
    writer.writerow(["", "Step ID", "Step Name", "Step Time(h:min:s.ms)", "Capacity(mAh)"])
    writer.writerow(
        [
            "",
            "",
            "Record ID",
            "Time(h:min:s.ms)",
            "Voltage(V)",
            "Current(mA)",
            "Capacity(mAh)",
            "Energy(mWh)",
            "Realtime",
        ]
    )
    record = 0
    for (cycle,), rows in reference.group_by(["Cycle Index"], maintain_order=True):
        writer.writerow([cycle, "", ""])
        for (step,), step_rows in rows.group_by(["Step Count"], maintain_order=True):
            kind = step_rows["Step Type"].cast(pl.String)[0]
            writer.writerow(["", step, kind, "", ""])
            for row in step_rows.iter_rows(named=True):
                record += 1
                seconds = row["Time"]
                clock = f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{seconds % 60:06.3f}"
                writer.writerow(
                    [
                        "",
                        "",
                        record,
                        clock,
                        f"{row['Voltage(mV)'] / 1000:.4f}",
                        f"{row['Current(uA)'] / 1000:.4f}",
                        f"{abs(row['Capacity(mAs)']) / 3600:.4f}",
                        f"{abs(row['Energy(mWs)']) / 3600:.4f}",
                        row["Date"].strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
                    ]
                )
    return out.getvalue()


def test_btsda_three_level_csv_is_read_like_the_flat_one(tmp_path):
    reference = btsda("neware_nda/TestFile.nda")
    path = tmp_path / "export.csv"
    path.write_text(_three_level_csv(reference), encoding="utf-8")
    assert detect_format(path) == "neware_csv"
    records = read_cycler_file(path, ReadOptions())
    assert records.frame.height == reference.height
    ours = summarise(records.frame, cycle_by="hardware")
    steps = btsda_steps(reference)
    for cycle in ours.cycles:
        in_cycle = [s for s in steps if s[1] == cycle.cycle]
        assert cycle.charge_mAh == pytest.approx(sum(q for k, _, q in in_cycle if k == "charge"), abs=1e-3)
        assert cycle.discharge_mAh == pytest.approx(
            sum(q for k, _, q in in_cycle if k == "discharge"), abs=1e-3
        )


XLSX = (
    "neware_xlsx/GMJuly2022_CELL002_RPT_3_P0C_5P0PSI_20230110_R0_CH041_20230110143333_37_2_1_2818580185.xlsx"
)


def test_btsda_xlsx_matches_its_own_cycle_sheet():
    import openpyxl

    records = read(XLSX)
    assert (records.file_format, records.frame.height) == ("neware_xlsx", 2833)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        book = openpyxl.load_workbook(fixture(XLSX), read_only=True)
    sheet = book["cycle"]
    sheet.reset_dimensions()
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    book.close()
    vendor = [dict(zip(header, row, strict=False)) for row in rows]
    summary = summarise(records.frame, cycle_by="hardware")
    assert [c.cycle for c in summary.cycles] == [v["Cycle Index"] for v in vendor]
    for ours, theirs in zip(summary.cycles, vendor, strict=True):
        # The cycle sheet has 4 decimals in Ah and Wh: ±0.05 mAh / mWh.
        assert ours.charge_mAh == pytest.approx(theirs["Chg. Cap.(Ah)"] * 1000, abs=0.05)
        assert ours.discharge_mAh == pytest.approx(theirs["DChg. Cap.(Ah)"] * 1000, abs=0.05)
        assert ours.charge_mWh == pytest.approx(theirs["Chg. Energy(Wh)"] * 1000, abs=0.05)


def _mpt_cycles(relative: str) -> pl.DataFrame:
    text = fixture(relative).read_bytes().decode("cp1252").splitlines()
    header_at = int(text[1].split(":")[1]) - 1
    names = text[header_at].split("\t")
    rows = [line.split("\t") for line in text[header_at + 1 :] if line.strip()]
    table = pl.DataFrame({n: [number(r[i]) for r in rows] for i, n in enumerate(names) if n})
    return table.group_by("cycle number", maintain_order=True).agg(
        pl.col("Q charge/mA.h").max(), pl.col("Q discharge/mA.h").max(), pl.col("Efficiency/%").max()
    )


@pytest.mark.parametrize(
    "relative",
    [
        "biologic_mpr/gcpl.issue_149.mpt",
        pytest.param(
            "biologic_mpr/gcpl.issue_149.mpr",
            marks=pytest.mark.skipif(
                not has_galvani(), reason="galvani (extra cellprov[biologic]) not installed"
            ),
        ),
    ],
)
def test_biologic_cycles_match_ec_labs_own_per_cycle_columns(relative):
    reference = _mpt_cycles("biologic_mpr/gcpl.issue_149.mpt")
    summary = summarise(read(relative).frame)
    assert len(summary.cycles) == reference.height == 4
    for ours, (_, q_charge, q_discharge, efficiency) in zip(
        summary.cycles, reference.iter_rows(), strict=True
    ):
        assert ours.charge_mAh == pytest.approx(q_charge, abs=5e-8)
        assert ours.discharge_mAh == pytest.approx(q_discharge, abs=5e-8)
        assert ours.ce_pct == pytest.approx(efficiency, abs=0.05)


@pytest.mark.skipif(not has_galvani(), reason="galvani (extra cellprov[biologic]) not installed")
def test_an_mpr_galvani_cannot_decode_is_refused_naming_galvani():
    with pytest.raises(UnreadableFile) as refused:
        read_cycler_file(fixture("biologic_mpr/mb.issue_223.mpr"), ReadOptions())
    assert refused.value.file_format == "biologic_mpr"
    assert "galvani" in refused.value.why and "112" in refused.value.why


def test_the_mpt_export_of_that_file_is_read_instead():
    records = read("biologic_mpr/mb.issue_223.mpt")
    assert records.frame.height == 108


LANDT = "generic_csv/SINTEF__LiGrR2032__2024-04-30__25degC__Landt.csv"


def test_generic_csv_is_identical_to_the_bdf_reference():
    records = read(LANDT)
    assert records.file_format == "generic_csv"
    reference = pl.read_csv(fixture(LANDT.replace(".csv", ".bdf.csv")), infer_schema_length=None)
    assert records.frame.height == reference.height == 25162
    assert records.frame["voltage_V"].to_list() == reference["voltage_volt"].to_list()
    assert (records.frame["current_mA"] - reference["current_ampere"] * 1000).abs().max() < 1e-9
    charged = (
        reference.with_columns(
            (pl.col("step_index") != pl.col("step_index").shift(1)).fill_null(True).cum_sum().alias("step")
        )
        .group_by("step", maintain_order=True)
        .agg((pl.col("charging_capacity_ah").max() * 1000).alias("q"))
    )
    ours = [s.capacity_mAh for s in segments_of(records.frame) if s.kind == "charge"]
    theirs = [q for q in charged["q"].to_list() if q > 0]
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_generic_csv_with_a_column_mapping(tmp_path):
    path = tmp_path / "lab.csv"
    lines = ["t [min];U [V];I [mA];Q [mAh]"]
    for minute in range(0, 121):
        charging = minute <= 60
        current = 1.0 if charging else -1.0
        q = minute / 60 if charging else (minute - 60) / 60
        lines.append(
            f"{minute};{3.2 + 0.001 * minute:.3f}".replace(".", ",") + f";{current};{q:.6f}".replace(".", ",")
        )
    path.write_text("\n".join(lines), encoding="utf-8")
    options = ReadOptions(
        columns={"time": "t [min]", "voltage": "U [V]", "current": "I [mA]", "capacity": "Q [mAh]"},
        units={"time": "min", "current": "mA", "capacity": "mAh"},
    )
    summary = summarise(read_cycler_file(path, options).frame)
    assert len(summary.cycles) == 1
    cycle = summary.cycles[0]
    assert cycle.charge_mAh == pytest.approx(1.0)
    assert cycle.discharge_mAh == pytest.approx(1.0)
    assert cycle.ce_pct == pytest.approx(100)
    assert cycle.duration_s == pytest.approx(7200)


def test_arbin_csv_rest_only_gives_records_and_no_cycles():
    records = read("arbin_csv/FastCharge_000025_CH8.csv")
    assert (records.file_format, records.frame.height) == ("arbin_csv", 248)
    assert records.frame["voltage_V"][0] == pytest.approx(3.3011441)
    assert summarise(records.frame).cycles == []


def test_maccor_today_layout():
    records = read("maccor_txt/PreDiag_000229_000229_truncated.034")
    assert (records.file_format, records.frame.height) == ("maccor_txt", 4061)
    summary = summarise(records.frame)
    assert summary.leading == "charge"
    first = summary.cycles[0]
    # The test starts from a part-charged cell: a top-up charge, then the first full discharge of a ~4.8 Ah
    # cell.
    assert 0 < first.charge_mAh < first.discharge_mAh
    assert first.discharge_mAh == pytest.approx(4762.6, abs=0.1)


def test_maccor_name_layout_with_decimal_commas():
    records = read("maccor_txt/maccor_two.txt")
    # 214 data lines; the last is cut off before its voltage and is left out.
    assert records.frame.height == 213
    assert records.frame["voltage_V"][:2].to_list() == [0.1377, 0.1385]
    assert records.frame["time_s"][1] == pytest.approx(60)
    assert set(records.frame["step_kind"].to_list()) == {"rest"}


@pytest.mark.parametrize(
    ("content", "name", "fragment"),
    [
        (b"", "empty.csv", "empty"),
        (b"\x00\x01\x02\x03garbage", "x.nda", "unknown binary"),
        (b"PK\x03\x04broken", "x.ndax", "zip"),
        (b"NEWARE\x00\x00 cut short", "x.nda", "fastnda"),
        (b"a,b,c\n1,2,3\n", "x.csv", "column mapping"),
    ],
)
def test_unreadable_files_are_refused_with_the_format_and_why(tmp_path, content, name, fragment):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableFile) as refused:
        read_cycler_file(path, ReadOptions())
    assert fragment in str(refused.value)
    assert refused.value.status == 422


def test_a_truncated_ndax_is_refused(tmp_path):
    data = fixture("neware_ndax/nw4-120-1-6-53.ndax").read_bytes()
    path = tmp_path / "cut.ndax"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableFile):
        read_cycler_file(path, ReadOptions())


def test_detection_ignores_the_file_name(tmp_path):
    disguised = tmp_path / "results.txt"
    disguised.write_bytes(fixture("neware_nda/new_nda_file.nda").read_bytes())
    assert detect_format(disguised) == "neware_nda"
    assert math.isfinite(read_cycler_file(disguised, ReadOptions()).frame["voltage_V"].sum())


def test_every_format_the_api_names_has_a_reader():
    from service.cycling.detect import FORMATS, READERS

    assert set(FORMATS) == set(READERS)
