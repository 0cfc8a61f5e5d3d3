"""The ingestion benchmark's generated Neware file: fastnda reads it as one long test of the source cell."""

import fastnda
import polars as pl
import pytest

from bench.neware_file import SOURCE, SOURCE_CYCLES, SOURCE_RECORDS, copies_for, write_neware_nda
from schemas.cycling import TestOptions
from service.cycling.logic import read_and_summarise
from tests.cycler_files import fixture

COPIES = 4


@pytest.mark.filterwarnings("ignore:read_metadata for NDA 129/130")
def test_the_generated_file_reads_as_the_source_repeated(tmp_path):
    source = fixture(SOURCE)
    path = write_neware_nda(tmp_path / "long.nda", COPIES, source)
    original = fastnda.read(source, cycle_mode="raw")
    frame = fastnda.read(path, cycle_mode="raw")

    assert frame.height == COPIES * SOURCE_RECORDS
    assert frame.get_column("cycle_count").unique().sort().to_list() == list(
        range(1, COPIES * SOURCE_CYCLES + 1)
    )
    assert frame.get_column("index").to_list() == list(range(1, COPIES * SOURCE_RECORDS + 1))
    last = frame.slice(3 * SOURCE_RECORDS)
    for column in ("voltage_V", "current_mA", "capacity_mAh", "step_type"):
        assert last.get_column(column).to_list() == original.get_column(column).to_list()
    # Each copy starts after the one before ended, on the test clock and the wall clock.
    by_copy = (
        frame.group_by(((pl.col("index") - 1) // SOURCE_RECORDS).alias("copy"))
        .agg(
            pl.col("total_time_s").first().alias("first_s"),
            pl.col("total_time_s").max().alias("last_s"),
            pl.col("unix_time_s").first().alias("first_unix"),
            pl.col("unix_time_s").max().alias("last_unix"),
        )
        .sort("copy")
    )
    assert (by_copy["first_s"].slice(1) > by_copy["last_s"].slice(0, COPIES - 1)).all()
    assert (by_copy["first_unix"].slice(1) > by_copy["last_unix"].slice(0, COPIES - 1)).all()
    assert fastnda.read_metadata(path)["num_datapoints"] == COPIES * SOURCE_RECORDS


def test_cellprov_reads_the_generated_file_with_its_neware_reader(tmp_path):
    path = write_neware_nda(tmp_path / "long.nda", COPIES, fixture(SOURCE))
    one_records, one = read_and_summarise(fixture(SOURCE), TestOptions())
    records, summary = read_and_summarise(path, TestOptions())

    assert records.file_format == one_records.file_format == "neware_nda"
    assert summary.record_count == COPIES * SOURCE_RECORDS
    # A cycle starts with a charge (a cathode-limited cell's CE convention): the source ends on a charge and
    # starts on a discharge, so where two copies meet those halves make one more complete cycle.
    assert len(summary.cycles) == COPIES * (len(one.cycles) - 1) + 1
    assert summary.cycles[-1].discharge_mAh == one.cycles[-1].discharge_mAh


def test_a_million_rows_take_150_copies():
    assert copies_for(1_000_000) == 150
    assert copies_for(SOURCE_RECORDS) == 1
