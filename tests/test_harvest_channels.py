"""Harvest by channel: a real folder, a real server (both databases), real cycler files named by the channel
they ran on (or in a folder per channel); the cell on that channel when the file was written is the cell."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from clients.client import Client
from clients.harvest import make_rule
from schemas import Role
from schemas.instruments import CalibrationIn, InstrumentIn, InstrumentKind, LoadIn, UnloadIn
from tests.conftest import Person
from tests.cycler_files import fixture
from tests.test_harvest import (
    NDA,
    NDAX,
    NDAX_2,
    PROTOCOL,
    Clock,
    Process,
    cli_env,
    harvester,
    make_cells,
    runs_of,
    sha256,
)
from tests.test_harvest import lab as lab

BY_CHANNEL = [make_rule("{channel}_*.ndax", PROTOCOL), make_rule("{channel}/*.nda", PROTOCOL)]


def _ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def _written_at(path: Path, when: datetime) -> None:
    """The file as the cycler left it at `when` (Linux keeps no creation time: the harvester reads this)."""
    os.utime(path, (when.timestamp(), when.timestamp()))


def _cycler(lab: Client) -> None:
    lab.register_instrument(InstrumentIn(code="NW1", kind=InstrumentKind.cycler, channels=8))
    done = date.today() - timedelta(days=400)  # its calibration ran out 35 days ago
    lab.record_calibration(
        "NW1", CalibrationIn(calibrated_on=done, due_on=done + timedelta(days=365), by="Neware service")
    )


def test_files_named_by_channel_go_to_the_cell_that_was_on_it(
    live_server: str, lab: Client, people: dict[Role, Person], tmp_path: Path
) -> None:
    first, second, third = make_cells(live_server, people, 3)
    _cycler(lab)
    lab.load_channel("NW1-3", LoadIn(cell=first, at=_ago(days=3)))
    lab.unload_channel("NW1-3", UnloadIn(at=_ago(days=1)))
    lab.load_channel("NW1-3", LoadIn(cell=second, at=_ago(hours=20)))

    folder = tmp_path / "cycler"
    (folder / "NW1-3").mkdir(parents=True)
    shutil.copy(fixture(NDAX), folder / "NW1-3_formation.ndax")
    _written_at(folder / "NW1-3_formation.ndax", _ago(days=2))  # while the first cell was on NW1-3
    shutil.copy(fixture(NDA), folder / "NW1-3" / "cycling.nda")  # the folder per channel, written now
    shutil.copy(fixture(NDAX_2), folder / "NW1-5_rate.ndax")  # nothing was ever on NW1-5
    _written_at(folder / "NW1-5_rate.ndax", _ago(minutes=10))
    shutil.copy(fixture(NDAX_2), folder / "NW9-1_rate.ndax")  # no such channel

    lines: list[str] = []
    clock = Clock()
    harvest = harvester(lab, folder, BY_CHANNEL, lines, clock)
    assert harvest.scan() == []  # not settled yet
    clock.advance(30)
    outcomes = {o.file: o for o in harvest.scan()}
    assert {name: o.kind for name, o in outcomes.items()} == {
        "NW1-3_formation.ndax": "uploaded",
        "NW1-3/cycling.nda": "uploaded",
        "NW1-5_rate.ndax": "unmatched",
        "NW9-1_rate.ndax": "refused",
    }
    assert outcomes["NW1-3_formation.ndax"].cell == first
    assert outcomes["NW1-3/cycling.nda"].cell == second
    unmatched = outcomes["NW1-5_rate.ndax"]
    assert "no cell was on channel NW1-5" in unmatched.message and "not uploaded" in unmatched.message
    assert "404" in outcomes["NW9-1_rate.ndax"].message and "NW9-1" in outcomes["NW9-1_rate.ndax"].message

    assert runs_of(lab, first) == [(PROTOCOL, sha256(fixture(NDAX)))]
    assert runs_of(lab, second) == [(PROTOCOL, sha256(fixture(NDA)))]
    assert runs_of(lab, third) == []
    (run,) = lab.tests_of(first)
    assert (run.channel, run.instrument, run.calibration_state) == ("NW1-3", "NW1", "overdue")
    assert [w.check for w in run.warnings if w.check == "calibration"] == ["calibration"]
    assert harvest.scan() == []  # each file is told once

    # The load was only written down late: recorded back-dated, the next scan uploads the file.
    lab.load_channel("NW1-5", LoadIn(cell=third, at=_ago(hours=1)))
    (late,) = harvest.scan()
    assert (late.kind, late.file, late.cell) == ("uploaded", "NW1-5_rate.ndax", third)
    assert [r.channel for r in lab.tests_of(third)] == ["NW1-5"]


def test_cellprov_harvest_maps_by_channel_from_the_command_line(
    live_server: str, lab: Client, people: dict[Role, Person], tmp_path: Path
) -> None:
    (cell,) = make_cells(live_server, people, 1)
    _cycler(lab)
    lab.load_channel("NW1-2", LoadIn(cell=cell, at=_ago(hours=5)))
    folder = tmp_path / "cycler"
    folder.mkdir()
    shutil.copy(fixture(NDAX), folder / "NW1-2_20260105.ndax")
    root = live_server.removesuffix("/api/v1")
    run = Process(
        "--url",
        root,
        "--token",
        people[Role.scientist].token,
        "harvest",
        str(folder),
        "--map",
        "{channel}_*.ndax",
        "--protocol",
        PROTOCOL,
        "--settle",
        "0.5",
        "--once",
        env=cli_env(tmp_path),
    )
    assert run.finish() == 0, "\n".join(run.lines)
    said = "\n".join(run.lines)
    assert "uploaded NW1-2_20260105.ndax: test run" in said and f"of {cell}" in said, said
    assert runs_of(lab, cell) == [(PROTOCOL, sha256(fixture(NDAX)))]
