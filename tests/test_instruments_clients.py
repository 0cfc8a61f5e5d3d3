"""Instruments through the Python client (both databases) and `cellprov instrument` (a real serve)."""

import json
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from clients.client import CellprovError, Client
from schemas import Role
from schemas.instruments import CalibrationIn, InstrumentIn, InstrumentKind, LoadIn
from tests import test_cli
from tests.conftest import Person
from tests.lab import ASSEMBLY, publish_bench
from tests.test_cli import Server, cellprov, ok
from tests.test_instruments_channels import make_cells

server = test_cli.server
wide_console = test_cli.wide_console


@pytest.fixture
def client(app: FastAPI, people: dict[Role, Person]) -> Iterator[Client]:
    with Client(token=people[Role.scientist].token, http=TestClient(app, raise_server_exceptions=False)) as c:
        yield c


def test_the_client_registers_a_cycler_and_calibrates_it(client: Client) -> None:
    cycler = client.register_instrument(
        InstrumentIn(code="NW1", kind=InstrumentKind.cycler, make="Neware", model="BTS 4000", channels=8)
    )
    assert cycler.channels[-1] == "NW1-8"
    today = date.today()
    recorded = client.record_calibration(
        "NW1", CalibrationIn(calibrated_on=today, due_on=today + timedelta(days=365), by="Neware service")
    )
    assert client.instrument("NW1").calibration_state.value == "in_calibration"
    client.void_calibration("NW1", recorded.id, "entered on the wrong cycler")
    assert client.instrument("NW1").calibration_state.value == "never"
    assert [c.voided for c in client.calibrations("NW1")] == [True]
    assert [i.code for i in client.instruments(kind="cycler")] == ["NW1"]
    with pytest.raises(CellprovError) as refused:
        client.register_instrument(InstrumentIn(code="NW1", kind=InstrumentKind.cycler, channels=8))
    assert refused.value.status == 409


def test_the_cli_adds_lists_and_calibrates_instruments(server: Server) -> None:
    added = ok(cellprov(server, "instrument", "add", "GB-7", "--kind", "glovebox", "--make", "MBraun"))
    assert "GB-7" in added and "never" in added
    ok(cellprov(server, "instrument", "add", "NW7", "--kind", "cycler", "--channels", "4"))
    out = ok(
        cellprov(
            server,
            "instrument",
            "calibrate",
            "GB-7",
            "--on",
            "2026-01-10",
            "--due",
            "2027-01-10",
            "--by",
            "Ann",
        )
    )
    assert "Recorded calibration" in out
    listed = json.loads(ok(cellprov(server, "--json", "instrument", "list")))
    by_code = {i["code"]: i for i in listed}
    assert by_code["NW7"]["channels"] == ["NW7-1", "NW7-2", "NW7-3", "NW7-4"]
    assert by_code["GB-7"]["calibration_due_on"] == "2027-01-10"
    shown = json.loads(ok(cellprov(server, "--json", "instrument", "show", "GB-7")))
    assert [c["by"] for c in shown["calibrations"]] == ["Ann"]
    refused = cellprov(server, "instrument", "add", "GB-8", "--kind", "glovebox", "--channels", "2")
    assert refused.exit_code == 1
    assert "only a cycler has channels" in refused.output


def test_the_client_loads_a_cell_reads_the_board_and_unloads_it(client: Client, api, admin) -> None:
    publish_bench(admin, ASSEMBLY)
    cell = make_cells(api, 1)[0]
    client.register_instrument(InstrumentIn(code="NW1", kind=InstrumentKind.cycler, channels=4))
    loaded = client.load_channel("NW1-2", LoadIn(cell=cell, protocol="lfp-li-cycling@1"))
    assert (loaded.channel, loaded.cell, loaded.unloaded_at) == ("NW1-2", cell, None)
    assert [c.code for c in client.channels(status="busy")] == ["NW1-2"]
    assert client.channel("NW1-2").cell == cell
    with pytest.raises(CellprovError) as refused:
        client.load_channel("NW1-3", LoadIn(cell=cell))
    assert refused.value.status == 409 and "NW1-2" in (refused.value.problem.detail or "")
    client.unload_channel("NW1-2")
    assert client.channel("NW1-2").status.value == "free"
    assert [load.channel for load in client.channels_of(cell)] == ["NW1-2"]
    assert client.channel_history("NW1-2")[0].unloaded_by == "sam"


def test_cellprov_instrument_impact_reads_the_days_and_answers_in_words(server: Server) -> None:
    # The worked example keeps NW1 in calibration, so nothing it ran is suspect.
    clean = ok(cellprov(server, "instrument", "impact", "NW1", "--from", "2020-01-01"))
    assert "Nothing used NW1 while it was out of calibration." in clean
    as_json = json.loads(ok(cellprov(server, "--json", "instrument", "impact", "GB-1")))
    assert as_json["uses"] == []
    refused = cellprov(server, "instrument", "impact", "NW1", "--to", "last week")
    assert refused.exit_code == 1 and "a day is YYYY-MM-DD" in refused.output
