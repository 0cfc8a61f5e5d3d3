"""The harvester on the cycler PC: a real folder, a real server (both databases), real cycler files.

Files are dropped into the folder while `cellprov harvest` runs; a file still being written is appended in
chunks; the harvester is restarted on the same state file; the server is away at first. Every result is
checked through the API, as the lab would check it: the cell's test runs and the SHA-256 of their files.
"""

from __future__ import annotations

import hashlib
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from clients.client import Client
from clients.harvest import (
    Harvester,
    HarvestState,
    MappingError,
    Rule,
    default_state_path,
    load_mapping,
    make_rule,
)
from schemas import Role
from service.config import Settings
from service.db import make_engine
from tests.conftest import Person, reset
from tests.cycler_files import fixture
from tests.lab import ASSEMBLY, publish_bench_over_http
from tests.servers import Server, free_port

NDAX = "neware_ndax/46_1_5_60_bts16.ndax"
NDAX_2 = "neware_ndax/21_10_7_85.ndax"
NDA = "neware_nda/new_nda_file.nda"
PROTOCOL = "lfp-li-cycling@1"
CELLPROV = str(Path(sys.executable).with_name("cellprov"))
WAIT = 120.0


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_cells(api_url: str, people: dict[Role, Person], count: int) -> list[str]:
    """`count` coin cells, assembled in one step from a Li disc lot, over HTTP as a scientist."""
    publish_bench_over_http(api_url, people[Role.admin].token, ASSEMBLY)
    headers = {"Authorization": f"Bearer {people[Role.scientist].token}"}
    with httpx.Client(base_url=api_url, headers=headers, timeout=60) as api:
        lot = api.post("/lots", json={"type": "Li foil disc", "quantity": "100 count"})
        assert lot.status_code == 201, lot.text
        step = api.post(
            "/steps",
            json={
                "protocol": ASSEMBLY,
                "inputs": [{"role": "anode", "item": lot.json()["code"], "amount": f"{count} count"}],
                "outputs": [{"type": "CR2025 coin cell", "count": count}],
            },
        )
        assert step.status_code == 201, step.text
        return [output["code"] for output in step.json()["outputs"]]


def runs_of(lab: Client, cell: str) -> list[tuple[str, str]]:
    """The cell's test runs as the lab checks them: (protocol, sha256 of the file), oldest first."""
    return [(run.protocol, run.file.sha256) for run in sorted(lab.tests_of(cell), key=lambda run: run.id)]


class Clock:
    """Time the test moves by hand, so "unchanged across the settle interval" needs no sleeping."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def lab(live_server: str, people: dict[Role, Person]) -> Iterator[Client]:
    with Client(live_server.removesuffix("/api/v1"), people[Role.scientist].token) as client:
        yield client


def harvester(lab: Client, folder: Path, rules: list[Rule], lines: list[str], clock: Clock) -> Harvester:
    state = HarvestState.load(folder / ".cellprov-harvest.json")
    return Harvester(lab, folder, rules, state, settle=30, report=lines.append, clock=clock)


BY_NAME = [make_rule("{cell}_*.ndax", PROTOCOL), make_rule("{cell}_*.nda", PROTOCOL)]


# -- as a real process ---------------------------------------------------------------------------------------


class Process:
    """`cellprov ...` as a subprocess whose output lines the test reads as they come."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            [CELLPROV, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put("")

    def wait_for(self, text: str, times: int = 1) -> list[str]:
        """Read lines until `times` of them contain `text`; fail with everything seen if it never comes."""
        found = [line for line in self.lines if text in line]
        while len(found) < times:
            try:
                line = self._queue.get(timeout=WAIT)
            except queue.Empty:
                pytest.fail(f"no {text!r} from the harvester; it said:\n" + "\n".join(self.lines))
            if not line and self.popen.poll() is not None:
                pytest.fail(f"the harvester ended before {text!r}; it said:\n" + "\n".join(self.lines))
            self.lines.append(line)
            if text in line:
                found.append(line)
        return found

    def finish(self) -> int:
        """Wait for the process to end and read the rest of what it said."""
        code = self.popen.wait(timeout=WAIT)
        while line := self._queue.get(timeout=WAIT):
            self.lines.append(line)
        return code


def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CELLPROV_")}
    env["CELLPROV_CONFIG"] = str(tmp_path / "no-config.toml")
    return env


def test_files_dropped_while_it_runs_become_test_runs_and_a_restart_uploads_nothing_again(
    live_server: str, lab: Client, people: dict[Role, Person], tmp_path: Path
) -> None:
    first, second, third = make_cells(live_server, people, 3)
    folder = tmp_path / "cycler"
    (folder / "channel-2").mkdir(parents=True)
    (folder / "notes.txt.tmp").write_text("a copy in progress: not a cycler file")
    root = live_server.removesuffix("/api/v1")
    connection = ["--url", root, "--token", people[Role.scientist].token]
    options = ["--map", "{cell}_*.ndax", "--map", "**/{cell}_*.nda", "--protocol", PROTOCOL, "--settle", "1"]
    watching = Process(*connection, "harvest", str(folder), *options, "--poll", "0.2", env=cli_env(tmp_path))
    try:
        watching.wait_for("harvesting")
        shutil.copy(fixture(NDAX), folder / f"{first}_formation.ndax")
        shutil.copy(fixture(NDA), folder / "channel-2" / f"{second}_cycling.nda")
        shutil.copy(fixture(NDAX_2), folder / "unlabelled.ndax")
        uploaded = watching.wait_for("Z uploaded ", times=2)
        unmatched = watching.wait_for("no cell matches")
    finally:
        watching.popen.send_signal(signal.SIGINT)  # Ctrl-C
    assert watching.finish() == 0, "\n".join(watching.lines)
    assert watching.lines[-1].endswith("harvest stopped")

    assert runs_of(lab, first) == [(PROTOCOL, sha256(fixture(NDAX)))]
    assert runs_of(lab, second) == [(PROTOCOL, sha256(fixture(NDA)))]
    assert runs_of(lab, third) == []
    files = {line.split(" ")[2].rstrip(":") for line in uploaded}
    assert files == {f"channel-2/{second}_cycling.nda", f"{first}_formation.ndax"}
    assert "unlabelled.ndax" in unmatched[0] and "not uploaded" in unmatched[0]

    # A new process on the same state file, as cron starts it: every file gets a line, nothing is uploaded.
    again = Process(*connection, "harvest", str(folder), *options, "--once", env=cli_env(tmp_path))
    assert again.finish() == 0, "\n".join(again.lines)
    said = "\n".join(again.lines)
    assert "Z uploaded " not in said and "harvest done: 2 skipped, 1 unmatched" in said, said
    assert f"skipped {first}_formation.ndax: uploaded before" in said
    assert runs_of(lab, first) == [(PROTOCOL, sha256(fixture(NDAX)))]
    assert runs_of(lab, second) == [(PROTOCOL, sha256(fixture(NDA)))]


def test_the_server_away_at_first_is_retried_and_the_file_uploaded_when_it_comes(
    settings: Settings, people: dict[Role, Person], tmp_path: Path
) -> None:
    engine = make_engine(settings)
    reset(engine, people)
    engine.dispose()
    port = free_port()
    with_cells = Server(settings, tmp_path / "server.log", port=port).start()
    try:
        (cell,) = make_cells(with_cells.url, people, 1)
    finally:
        with_cells.terminate()
    folder = tmp_path / "cycler"
    folder.mkdir()
    shutil.copy(fixture(NDAX), folder / f"{cell}_1.ndax")

    once = Process(
        *["--url", with_cells.root, "--token", people[Role.scientist].token],
        *["harvest", str(folder), "--map", "{cell}_*.ndax", "--protocol", PROTOCOL],
        *["--once", "--settle", "0.2", "--max-backoff", "0.5", "--give-up-after", str(WAIT)],
        env=cli_env(tmp_path),
    )
    server = None
    try:
        assert "ConnectError" in once.wait_for("waiting: the server")[0]
        server = Server(settings, tmp_path / "server.log", port=port).start()
        assert once.finish() == 0, "\n".join(once.lines)
        with Client(server.root, people[Role.scientist].token) as lab:
            assert runs_of(lab, cell) == [(PROTOCOL, sha256(fixture(NDAX)))]
    finally:
        if once.popen.poll() is None:
            once.popen.kill()
        if server is not None:
            server.terminate()
    said = "\n".join(once.lines)
    assert "server back" in said and f"uploaded {cell}_1.ndax: test run" in said, said
    assert "harvest done: 1 uploaded" in said


# -- the harvester object, driven scan by scan ---------------------------------------------------------------


def test_a_file_still_being_written_is_uploaded_only_once_it_has_settled(
    live_server: str, lab: Client, people: dict[Role, Person], tmp_path: Path
) -> None:
    (cell,) = make_cells(live_server, people, 1)
    folder = tmp_path / "cycler"
    folder.mkdir()
    lines: list[str] = []
    clock = Clock()
    harvest = harvester(lab, folder, BY_NAME, lines, clock)
    content = fixture(NDA).read_bytes()
    growing = folder / f"{cell}_long-test.nda"
    growing.touch()  # the cycler opens the file before it writes anything
    chunk = len(content) // 5 + 1
    for start in range(0, len(content), chunk):
        harvest.scan()
        clock.advance(20)  # each look comes 20 s after the last, inside the 30 s settle interval
        with growing.open("ab") as handle:
            handle.write(content[start : start + chunk])
        assert harvest.scan() == []
        assert runs_of(lab, cell) == [], "a file still being written was uploaded"
    clock.advance(29)
    assert harvest.scan() == []
    clock.advance(1)
    (uploaded,) = harvest.scan()
    assert uploaded.kind == "uploaded" and uploaded.sha256 == sha256(fixture(NDA))
    assert runs_of(lab, cell) == [(PROTOCOL, sha256(fixture(NDA)))]
    assert lines == [uploaded.line]


def test_a_restart_or_a_copy_or_a_lost_state_file_uploads_nothing_twice(
    live_server: str, lab: Client, people: dict[Role, Person], tmp_path: Path
) -> None:
    (cell,) = make_cells(live_server, people, 1)
    folder = tmp_path / "cycler"
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        f"- pattern: '{{cell}}/*.ndax'\n  protocol: {PROTOCOL}\n  options: {{active_mass: 12.49 mg}}\n"
    )
    rules = load_mapping(mapping)
    (folder / cell).mkdir(parents=True)  # a folder per cell, named by its code
    shutil.copy(fixture(NDAX), folder / cell / "run.ndax")
    lines: list[str] = []
    clock = Clock()
    first = harvester(lab, folder, rules, lines, clock)
    first.scan()
    clock.advance(30)
    (uploaded,) = first.scan()
    assert uploaded.kind == "uploaded"
    (run,) = lab.tests_of(cell)
    assert run.active_mass_g == pytest.approx(0.01249) and run.file.sha256 == sha256(fixture(NDAX))

    # A new harvester object (as after a restart) on the same state file: one line, nothing uploaded.
    restarted = harvester(lab, folder, rules, lines, clock)
    (seen,) = restarted.scan()
    assert (seen.kind, seen.file) == ("skipped", f"{cell}/run.ndax")
    assert f"uploaded before: test run {run.id} of {cell}" in seen.line
    assert restarted.scan() == []  # and only one line per file, not one a scan

    # The same bytes under another name: known by their SHA-256.
    shutil.copy(fixture(NDAX), folder / cell / "run (copy).ndax")
    restarted.scan()
    clock.advance(30)
    (copy,) = restarted.scan()
    assert copy.kind == "skipped" and f"uploaded before as test run {run.id}" in copy.message

    # The state file lost: the server's test runs of the cell still say these bytes are there.
    (folder / ".cellprov-harvest.json").unlink()
    fresh = harvester(lab, folder, rules, lines, clock)
    fresh.scan()
    clock.advance(30)
    outcomes = fresh.scan()
    assert [(o.kind, o.test_run) for o in outcomes] == [("skipped", run.id), ("skipped", run.id)]
    said = sorted(o.message for o in outcomes)
    assert said == [
        f"{cell} already has test run {run.id} of these bytes on the server",
        f"these bytes were uploaded before as test run {run.id} of {cell}",
    ]
    assert runs_of(lab, cell) == [(PROTOCOL, sha256(fixture(NDAX)))]


def test_a_file_no_cell_matches_is_reported_and_a_refused_one_named_with_the_reason(
    live_server: str, lab: Client, people: dict[Role, Person], tmp_path: Path
) -> None:
    (cell,) = make_cells(live_server, people, 1)
    folder = tmp_path / "cycler"
    folder.mkdir()
    shutil.copy(fixture(NDAX), folder / "unknown-cell.ndax")  # no pattern names a cell in this name
    shutil.copy(fixture(NDAX), folder / "CC-9999_run.ndax")  # a pattern does, but there is no such cell
    (folder / "CC-0001_run.parquet").write_bytes(b"not a cycler file: never looked at")
    lines: list[str] = []
    clock = Clock()
    harvest = harvester(lab, folder, BY_NAME, lines, clock)
    (unmatched,) = harvest.scan()
    assert unmatched.kind == "unmatched" and unmatched.file == "unknown-cell.ndax"
    assert unmatched.line.startswith("no cell matches unknown-cell.ndax:")
    clock.advance(30)
    (refused,) = harvest.scan()  # the unmatched file is not reported again
    assert (refused.kind, refused.cell) == ("refused", "CC-9999")
    assert "404" in refused.message and "CC-9999" in refused.message
    assert runs_of(lab, cell) == []

    # Refused is remembered: the next harvester says so once and asks the server nothing new.
    restarted = harvester(lab, folder, BY_NAME, [], clock)
    kinds = sorted((o.kind, o.file) for o in restarted.scan())
    assert kinds == [("skipped", "CC-9999_run.ndax"), ("unmatched", "unknown-cell.ndax")]
    assert lines == [unmatched.line, refused.line]


# -- rules and mapping files (no server) ---------------------------------------------------------------------


def test_patterns_name_the_cell_from_the_file_name_or_its_folder() -> None:
    by_name = make_rule("{cell}_*.nda", PROTOCOL)
    assert by_name.cell_of("CC-0001_run_2.nda") == "CC-0001"
    assert by_name.cell_of("sub/folder/CC-0007_x.NDA") == "CC-0007"  # names only; case as Windows has it
    assert by_name.cell_of("CC-0001.nda") is None
    by_folder = make_rule("{cell}/*.ndax", PROTOCOL)
    assert by_folder.cell_of("PC-0003/formation.ndax") == "PC-0003"
    assert by_folder.cell_of("x/PC-0003/formation.ndax") is None
    assert make_rule("**/{cell}/*.ndax", PROTOCOL).cell_of("x/y/PC-0003/formation.ndax") == "PC-0003"
    fixed = make_rule("channel-3/*.mpt", PROTOCOL, cell="CC-0042")
    assert fixed.cell_of("channel-3/a.mpt") == "CC-0042"
    for bad, says in [
        (lambda: make_rule("*.nda", PROTOCOL), "name the cell"),
        (lambda: make_rule("{cel}_*.nda", PROTOCOL), "unknown placeholder {cel}"),
        (lambda: make_rule("{cell}_*.nda", None), "no protocol"),
        (lambda: make_rule("{cell}_*.nda", PROTOCOL, options={"active_mass": "heavy"}), "active_mass"),
    ]:
        with pytest.raises(MappingError, match=says):
            bad()


def test_mapping_files_in_yaml_and_csv(tmp_path: Path) -> None:
    csv_file = tmp_path / "mapping.csv"
    csv_file.write_text(
        "pattern,cell,protocol,active_mass,formation_cycles\n"
        f"ch1/*.nda,CC-0001,{PROTOCOL},12.49 mg,2\n"
        "{cell}_*.ndax,,li-li-symmetric@1,,\n"
    )
    first, second = load_mapping(csv_file)
    assert first.cell_of("ch1/a.nda") == "CC-0001" and first.options.formation_cycles == 2
    assert first.options.active_mass is not None and str(first.options.active_mass) == "12.49 mg"
    assert second.protocol == "li-li-symmetric@1" and second.options_json == "{}"
    yaml_file = tmp_path / "mapping.yaml"
    yaml_file.write_text("- {pattern: '{cell}_*.nda', protocol: lfp-li-cycling@1, colour: red}\n")
    with pytest.raises(MappingError, match="rule 1: unknown key 'colour'"):
        load_mapping(yaml_file)


def test_the_state_file_goes_beside_the_files_by_default(tmp_path: Path) -> None:
    assert default_state_path(tmp_path) == tmp_path / ".cellprov-harvest.json"
