"""The .eln round trip: what one cellprov server exported, imported into an empty one (its own database),
recreates the same records: items under their codes, steps, the test run of a real cycler file with its
per-cycle data, the analysis, the entry and its attachment; the lineage answers of both servers are equal.
Importing again creates nothing; a code held by another record is a 409; a dry run writes nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from clients.client import Client
from clients.example import ASSEMBLY, CATHODE_DISC_AREA, GLOVEBOX, LOTS, q
from clients.example import _instruments as register_instruments
from schemas import LotIn, Quantity, Role, StepIn, StepInputIn, StepOutputIn
from schemas.analyses import AnalysisFileIn, AnalysisIn, ResultIn
from schemas.cycling import TestOptions
from schemas.entries import EntryIn
from schemas.steps import StepInstrumentIn
from service import migrate
from service.app import create_app
from service.config import Settings
from service.db import make_engine
from tests.conftest import Person, _client, _drop_postgres, _postgres_url, reset
from tests.cycler_files import fixture
from tests.test_exports import check_eln  # noqa: F401  (the shared consortium checks, as a fixture)

CYCLER_FILE = "neware_nda/TestFile.nda"
LOT_TYPES = (
    "LFP",
    "PVDF",
    "carbon black",
    "NMP",
    "carbon-coated Al foil",
    "Li foil disc",
    "PP separator",
    "electrolyte LiTFSI DOL/DME",
    "CR2025 case",
)


@pytest.fixture
def source(app: FastAPI, people: dict[Role, Person]) -> Iterator[Client]:
    http = TestClient(app, raise_server_exceptions=False)
    with Client(token=people[Role.scientist].token, http=http) as client:
        yield client


@pytest.fixture
def target_app(database_url: str, tmp_path: Path, people: dict[Role, Person]) -> Iterator[FastAPI]:
    """A second, empty server of the same database kind: its own database, file store and audit key."""
    postgres = not database_url.startswith("sqlite")
    url = _postgres_url() if postgres else f"sqlite:///{tmp_path / 'target.db'}"
    assert url is not None
    migrate.upgrade(url)
    settings = Settings(
        database_url=url,
        files_dir=tmp_path / "target-files",
        audit_key_file=tmp_path / "target-keys" / "audit.pem",
    )
    engine = make_engine(settings)
    reset(engine, people)
    engine.dispose()
    application = create_app(settings)
    yield application
    application.state.engine.dispose()
    if postgres:
        _drop_postgres(url)


@pytest.fixture
def target(target_app: FastAPI, people: dict[Role, Person]) -> TestClient:
    """The target's scientist; the lab there has the same glovebox registered (instruments are not
    imported, like templates: the steps' instrument uses are)."""
    http = TestClient(target_app, raise_server_exceptions=False)
    with Client(token=people[Role.admin].token, http=http) as admin:
        register_instruments(admin)
    return _client(target_app, people[Role.scientist].token)


@pytest.fixture
def auditor(target_app: FastAPI, people: dict[Role, Person]) -> TestClient:
    return _client(target_app, people[Role.auditor].token)


def trail(auditor: TestClient) -> list[dict[str, Any]]:
    answer = auditor.get("/audit", params={"limit": 1000})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]  # type: ignore[no-any-return]


@pytest.fixture
def lineage(source: Client, tmp_path: Path) -> dict[str, Any]:
    """Lots -> an LFP cathode sheet (a cast batch) -> a CR2025 cell, tested with a real Neware file, the
    sheet analysed (XPS, with its spectrum), the cell described by an entry with a photo."""
    lots = {}
    for type_name, quantity, name, supplier, catalog, supplier_lot, received, expires in LOTS:
        if type_name in LOT_TYPES:
            lot = source.receive_lot(
                LotIn(
                    type=type_name,
                    quantity=quantity,
                    name=name,
                    supplier=supplier,
                    catalog_number=catalog,
                    supplier_lot=supplier_lot,
                    received_on=received,
                    expires_on=expires,
                    properties={"shelf": "B2"},
                )
            )
            lots[type_name] = lot.code
    casting = source.log_step(
        StepIn(
            protocol="lfp-cathode-casting@1",
            parameters={"drying_temperature": q(120, "degC"), "drying_time": q(12, "h")},
            inputs=[
                StepInputIn(role="active_material", item=lots["LFP"], amount=q(0.8, "g")),
                StepInputIn(role="binder", item=lots["PVDF"], amount=q(100, "mg")),
                StepInputIn(role="conductive_additive", item=lots["carbon black"], amount=q(0.1, "g")),
                StepInputIn(role="solvent", item=lots["NMP"], amount=q(4, "mL")),
                StepInputIn(
                    role="current_collector", item=lots["carbon-coated Al foil"], amount=q(1, "count")
                ),
            ],
            outputs=[
                StepOutputIn(
                    type="LFP cathode sheet",
                    quantity=q(60, "cm**2"),
                    name="LFP 8:1:1 on C-Al",
                    properties={"areal_loading": {"value": 11.05, "unit": "mg/cm**2"}},
                )
            ],
            notes="Doctor blade 200 µm.",
        )
    )
    sheet = casting.outputs[0].code
    register_instruments(source)
    assembly = source.log_step(
        StepIn(
            protocol=ASSEMBLY,
            started_at=datetime(2025, 2, 5, 10, 0, tzinfo=UTC),
            ended_at=datetime(2025, 2, 5, 10, 30, tzinfo=UTC),
            instruments=[StepInstrumentIn(role="glovebox", instrument=GLOVEBOX.code)],
            parameters={
                "o2_ppm": q(0.05, "ppm"),
                "h2o_ppm": q(0.05, "ppm"),
                "electrolyte_volume": q(40, "µL"),
            },
            inputs=[
                StepInputIn(role="anode", item=lots["Li foil disc"], amount=q(1, "count")),
                StepInputIn(role="cathode", item=sheet, amount=CATHODE_DISC_AREA),
                StepInputIn(role="separator", item=lots["PP separator"], amount=q(1, "count")),
                StepInputIn(role="electrolyte", item=lots["electrolyte LiTFSI DOL/DME"], amount=q(40, "µL")),
                StepInputIn(role="case", item=lots["CR2025 case"], amount=q(1, "count")),
            ],
            outputs=[StepOutputIn(type="CR2025 coin cell", name="LFP||Li #1")],
        )
    )
    cell = assembly.outputs[0].code
    content = fixture(CYCLER_FILE).read_bytes()
    run = source.upload_test(
        cell,
        "TestFile.nda",
        content,
        "lfp-li-cycling@1",
        TestOptions(active_mass=Quantity(value=12.5, unit="mg")),
    )
    spectrum = source.upload_file("F1s.csv", b"binding_energy_eV,counts\n684.9,1200\n688.5,800\n")
    xps = source.add_analysis(
        AnalysisIn(
            technique="XPS",
            subjects=[sheet],
            instrument="Thermo Scientific K-Alpha",
            title="F 1s of the cast sheet",
            results=[ResultIn(name="LiF fraction", value=12.5, unit="%")],
            files=[AnalysisFileIn(sha256=spectrum.sha256, label="spectrum")],
        )
    )
    photo = tmp_path / "crimped cell.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    entry = source.write_entry(
        EntryIn(
            title="Crimped and rested",
            body="# Assembly\nRested **12 h** before cycling.",
            tags=["assembly"],
            links=[f"item:{cell}", f"step:{assembly.id}", f"test_run:{run.id}"],
        ),
        files=[photo],
    )
    return {
        "lots": lots,
        "sheet": sheet,
        "cell": cell,
        "steps": [casting.id, assembly.id],
        "test": run.id,
        "raw": hashlib.sha256(content).hexdigest(),
        "analysis": xps.id,
        "entry": entry.id,
        "photo": photo.read_bytes(),
    }


def send(api: TestClient, archive: bytes, **params: Any) -> Any:
    return api.post("/import/eln", params=params, files={"file": ("cell.eln", archive, "application/zip")})


def ids_of(answer: dict[str, Any]) -> dict[str, dict[int, int]]:
    """Source id -> target id of every step, test run, analysis and entry, from the import's answer."""
    mapped: dict[str, dict[int, int]] = {"step": {}, "test_run": {}, "analysis": {}, "entry": {}}
    for entity in answer["entities"]:
        record = entity.get("record") or ""
        kind, _, here = record.partition(":")
        if kind in mapped:
            source = entity["id"].removeprefix("#step-").split("/")[-2 if "/" in entity["id"] else 0]
            mapped[kind][int(source)] = int(here)
    return mapped


def normalised(lineage: dict[str, Any], ids: dict[str, dict[int, int]] | None) -> dict[str, Any]:
    """A lineage answer with the server-local ids of steps, tests, analyses and entries replaced by the
    source's ones (`ids` maps source -> target; None: this is the source's answer)."""
    back = {kind: {t: s for s, t in table.items()} for kind, table in (ids or {}).items()}

    def source_id(kind: str, value: int) -> int:
        return back[kind][value] if ids is not None else value

    doc = json.loads(json.dumps(lineage))
    for edge in doc["edges"]:
        edge["step"] = source_id("step", edge["step"])
    for instrument in doc["instruments"]:
        instrument["step"] = source_id("step", instrument["step"])
    for test in doc["tests"]:
        test["id"] = source_id("test_run", test["id"])
    for analysis in doc["analyses"]:
        analysis["id"] = source_id("analysis", analysis["id"])
    for refs in doc["entries"].values():
        for ref in refs:
            ref["id"] = source_id("entry", ref["id"])
    doc["edges"].sort(key=lambda e: (e["step"], e["source"], e["target"], e["role"]))
    doc["tests"].sort(key=lambda t: (t["id"], t["item"]))
    doc["analyses"].sort(key=lambda a: (a["id"], a["item"]))
    return doc


ITEM_FIELDS = [
    "code",
    "kind",
    "type",
    "name",
    "status",
    "quantity",
    "remaining",
    "supplier",
    "catalog_number",
    "supplier_lot",
    "received_on",
    "expires_on",
    "properties",
    "created_at",
    "updated_at",
    "void_reason",
]


def test_a_cellprov_archive_comes_back_as_the_same_records(
    source: Client,
    app: FastAPI,
    people: dict[Role, Person],
    target: TestClient,
    auditor: TestClient,
    lineage: dict[str, Any],
    tmp_path: Path,
    check_eln: Callable[[Path], dict[str, list[str]]],  # noqa: F811
) -> None:
    cell = lineage["cell"]
    archive = source.export(cell, "eln")
    path = tmp_path / "cell.eln"
    path.write_bytes(archive)
    assert {name: problems for name, problems in check_eln(path).items() if problems} == {}
    archive_sha = hashlib.sha256(archive).hexdigest()

    answer = send(target, archive)
    assert answer.status_code == 201, answer.text
    report = answer.json()
    assert report["path"] == "records" and not report["already_imported"]
    codes = [*lineage["lots"].values(), lineage["sheet"], cell]
    assert report["created"] == {
        "items": len(codes),
        "steps": 2,
        "test_runs": 1,
        "analyses": 1,
        "entries": 1,
        "files": 3,
    }
    ids = ids_of(report)
    http = _client(app, people[Role.scientist].token)

    def read(api: TestClient, url: str) -> Any:
        got = api.get(url)
        assert got.status_code == 200, (url, got.text)
        return got.json() if "json" in got.headers["content-type"] else got.content

    # The whole lineage answers, up from the cell and down from every lot, are equal (step, test, analysis
    # and entry ids are each server's own and are compared through the import's answer).
    for code in codes:
        for direction in ("up", "down"):
            mine = read(http, f"/items/{code}/lineage?direction={direction}")
            theirs = read(target, f"/items/{code}/lineage?direction={direction}")
            assert normalised(theirs, ids) == normalised(mine, None), (code, direction)

    up = read(target, f"/items/{cell}/lineage?direction=up")
    assert [i["instrument"] for i in up["instruments"]] == [GLOVEBOX.code]  # the assembly's glovebox

    # Items: codes, types, quantities and what is left, properties, statuses, dates.
    for code in codes:
        mine, theirs = read(http, f"/items/{code}"), read(target, f"/items/{code}")
        assert {k: theirs[k] for k in ITEM_FIELDS} == {k: mine[k] for k in ITEM_FIELDS}, code
        assert theirs["produced_by"] == (ids["step"][mine["produced_by"]] if mine["produced_by"] else None)
    # Steps: protocol@version, parameters, inputs with amounts, outputs, the template's verdict.
    for step in lineage["steps"]:
        mine, theirs = read(http, f"/steps/{step}"), read(target, f"/steps/{ids['step'][step]}")
        for key in ("protocol", "status", "parameters", "inputs", "outputs", "notes", "deviating"):
            assert theirs[key] == mine[key], key
        for key in (
            "deviations",
            "normalized",
            "computed",
            "started_at",
            "ended_at",
            "created_at",
            "instruments",
        ):
            assert theirs[key] == mine[key], key
    # The test run: the same raw file, per-cycle data and metrics.
    run = lineage["test"]
    mine, theirs = read(http, f"/tests/{run}"), read(target, f"/tests/{ids['test_run'][run]}")
    for key in (
        "cell",
        "protocol",
        "kind",
        "file",
        "format",
        "parser",
        "parser_version",
        "metrics",
        "options",
    ):
        assert theirs[key] == mine[key], key
    assert theirs["file"]["sha256"] == lineage["raw"]
    assert read(target, f"/tests/{ids['test_run'][run]}/cycles") == read(http, f"/tests/{run}/cycles")
    assert hashlib.sha256(read(target, f"/files/{lineage['raw']}")).hexdigest() == lineage["raw"]
    # The analysis and the entry, with their files' bytes.
    mine = read(http, f"/analyses/{lineage['analysis']}")
    theirs = read(target, f"/analyses/{ids['analysis'][lineage['analysis']]}")
    assert {k: v for k, v in theirs.items() if k != "id"} == {k: v for k, v in mine.items() if k != "id"}
    spectrum = theirs["files"][0]["sha256"]
    assert read(target, f"/files/{spectrum}") == read(http, f"/files/{spectrum}")
    mine = read(http, f"/entries/{lineage['entry']}")
    theirs = read(target, f"/entries/{ids['entry'][lineage['entry']]}")
    for key in ("title", "body", "date", "tags", "attachments", "status", "created_at", "author"):
        assert theirs[key] == mine[key], key
    here = ids["step"][lineage["steps"][1]]
    assert theirs["links"] == [f"item:{cell}", f"step:{here}", f"test_run:{ids['test_run'][run]}"]
    photo = theirs["attachments"][0]["sha256"]
    attached = target.get(f"/entries/{theirs['id']}/attachments/{photo}")
    assert attached.status_code == 200 and attached.content == lineage["photo"]

    # The imported records are found by search, as any written here.
    found = target.get("/search", params={"q": "Crimped"}).json()
    assert any(hit.get("kind") == "entry" for hit in found["hits"]), found
    found = target.get("/search", params={"q": cell}).json()
    assert any(cell in json.dumps(hit) for hit in found["hits"]), found

    # The trail says imported, by whom and from which archive; nothing was received or logged here.
    events = trail(auditor)
    actions = {event["action"] for event in events}
    assert not actions & {"item.received", "item.made", "step.logged", "test_run.recorded", "entry.created"}
    imported = [e for e in events if e["action"] == "item.imported"]
    assert {e["entity_id"] for e in imported} == set(codes)
    assert all(e["data"]["imported"]["archive_sha256"] == archive_sha for e in imported)
    assert all(e["actor_name"] == "sam" for e in imported)
    lot = next(e for e in imported if e["entity_id"] == lineage["lots"]["LFP"])
    assert (
        lot["data"]["imported"]["original_author"] == "sam" and lot["data"]["imported"]["original_created_at"]
    )
    assert {
        "step.imported",
        "test_run.imported",
        "analysis.imported",
        "entry.imported",
        "eln.imported",
    } <= actions

    # The same archive again: nothing is created, and the answer says so.
    count = len(events)
    again = send(target, archive)
    assert again.status_code == 201, again.text
    assert again.json()["already_imported"] and not any(again.json()["created"].values())
    assert again.json()["existing"]["items"] == len(codes)
    assert len(trail(auditor)) == count


def test_a_dry_run_writes_nothing_and_says_what_would_come(
    source: Client, target: TestClient, auditor: TestClient, lineage: dict[str, Any]
) -> None:
    archive = source.export(lineage["cell"], "eln")
    before = trail(auditor)
    dry = send(target, archive, dry_run="true")
    assert dry.status_code < 300, dry.text
    plan = dry.json()
    assert plan["dry_run"] and plan["path"] == "records" and plan["created"]["items"] == 11
    assert plan["created"]["test_runs"] == 1 and plan["created"]["entries"] == 1
    assert target.get(f"/items/{lineage['cell']}").status_code == 404
    assert trail(auditor) == before


def test_codes_held_by_other_records_are_a_409_listing_them(
    source: Client, target: TestClient, lineage: dict[str, Any], people: dict[Role, Person]
) -> None:
    archive = source.export(lineage["cell"], "eln")
    taken = lineage["lots"]["PVDF"]
    made = target.post("/lots", json={"type": "NMP", "quantity": {"value": 1, "unit": "L"}, "code": taken})
    assert made.status_code == 201, made.text
    refused = send(target, archive)
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["pointer"] for e in refused.json()["errors"]] == [f"/items/{taken}"]
    assert target.get(f"/items/{lineage['cell']}").status_code == 404
    assert target.get("/entries").json()["items"] == []


def test_a_missing_template_or_instrument_is_a_422_naming_it(
    source: Client, target: TestClient, target_app: FastAPI, lineage: dict[str, Any]
) -> None:
    archive = source.export(lineage["cell"], "eln")
    from sqlalchemy import text

    with target_app.state.engine.begin() as connection:
        # A server that never had the assembly template: its rows are gone (no step names them there).
        connection.execute(text("DELETE FROM templates WHERE name = 'cr2025-assembly'"))
        # ... nor the glovebox the cell was assembled in.
        for table in ("calibrations", "channels", "instruments"):
            connection.execute(text(f"DELETE FROM {table}"))
    refused = send(target, archive)
    assert refused.status_code == 422, refused.text
    named = {e.get("got") for e in refused.json()["errors"]}
    assert {ASSEMBLY, GLOVEBOX.code} <= named
    assert target.get(f"/items/{lineage['cell']}").status_code == 404


def test_the_same_server_finds_its_own_records_and_entries_mode_still_makes_entries(
    source: Client, lineage: dict[str, Any], people: dict[Role, Person], app: FastAPI
) -> None:
    archive = source.export(lineage["cell"], "eln")
    api = _client(app, people[Role.scientist].token)
    own = send(api, archive)
    assert own.status_code == 201, own.text
    assert own.json()["path"] == "records" and own.json()["already_imported"]
    notes = send(api, archive, mode="entries")
    assert notes.status_code == 201, notes.text
    assert notes.json()["path"] == "entries" and notes.json()["entries"] >= 1


def test_cellprov_import_of_an_export_says_it_came_back_as_records(
    source: Client,
    target_app: FastAPI,
    target: TestClient,
    lineage: dict[str, Any],
    people: dict[Role, Person],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from clients import cli
    from clients.cli import connect

    path = tmp_path / "cell.eln"
    path.write_bytes(source.export(lineage["cell"], "eln"))
    monkeypatch.setattr(
        connect,
        "Client",
        lambda url, token: Client(token=token, http=TestClient(target_app, raise_server_exceptions=False)),
    )
    token = people[Role.scientist].token
    runner = CliRunner()
    dry = runner.invoke(cli.app, ["--token", token, "import", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would create the same records" in " ".join(dry.output.split())
    assert target.get(f"/items/{lineage['cell']}").status_code == 404
    done = runner.invoke(cli.app, ["--token", token, "import", str(path), "--json"])
    assert done.exit_code == 0, done.output
    answer = json.loads(done.stdout)
    assert answer["path"] == "records" and answer["created"]["items"] == 11
    assert target.get(f"/items/{lineage['cell']}").json()["type"] == "CR2025 coin cell"
    again = runner.invoke(cli.app, ["--token", token, "import", str(path)])
    assert again.exit_code == 0 and "Already imported" in again.output


def _rewritten(archive: bytes, change: Callable[[dict[str, Any]], None], member: str = "") -> bytes:
    """The archive with its cellprov-records.json changed (or, with `member`, that member's bytes)."""
    import io
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(archive))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as rewritten:
        for info in source.infolist():
            content = source.read(info)
            if info.filename.endswith("/cellprov-records.json"):
                document = json.loads(content)
                change(document)
                content = json.dumps(document).encode()
            if member and info.filename.endswith(member):
                content = b"not the bytes the record names"
            rewritten.writestr(info.filename, content)
    return out.getvalue()


def test_a_tampered_cellprov_archive_is_refused_and_writes_nothing(
    source: Client, target: TestClient, lineage: dict[str, Any], tmp_path: Path
) -> None:
    archive = source.export(lineage["cell"], "eln")

    def no_items(document: dict[str, Any]) -> None:
        document["items"] = "none"

    def naive(document: dict[str, Any]) -> None:
        document["items"][0]["created_at"] = "2025-01-01T00:00:00"

    def bad_amount(document: dict[str, Any]) -> None:
        document["steps"][0]["inputs"][0]["amount"] = {"value": 1, "unit": "kelvin"}

    def unknown(document: dict[str, Any]) -> None:
        document["version"] = 99

    cases = {
        "not records": _rewritten(archive, no_items),
        "naive time": _rewritten(archive, naive),
        "amount in another dimension": _rewritten(archive, bad_amount),
        "unknown version": _rewritten(archive, unknown),
        "a member not its digest": _rewritten(archive, lambda _: None, member="crimped_cell.png"),
    }
    for case, content in cases.items():
        for params in ({"dry_run": "true"}, {}):
            refused = send(target, content, **params)
            if case == "a member not its digest" and params:
                assert refused.status_code == 200, (case, refused.text)  # found when read, not planned
                continue
            assert refused.status_code == 422, (case, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
        assert target.get(f"/items/{lineage['cell']}").status_code == 404, case
        assert target.get("/entries").json()["items"] == [], case


def test_another_importer_is_accountable_and_the_original_author_is_data(
    source: Client,
    target_app: FastAPI,
    target: TestClient,
    auditor: TestClient,
    lineage: dict[str, Any],
    people: dict[Role, Person],
) -> None:
    admin = _client(target_app, people[Role.admin].token)
    answer = send(admin, source.export(lineage["cell"], "eln"))
    assert answer.status_code == 201, answer.text
    cell = admin.get(f"/items/{lineage['cell']}").json()
    assert cell["created_by"] == "ada"
    made = [e for e in trail(auditor) if e["action"] == "item.imported" and e["entity_id"] == lineage["cell"]]
    assert made[0]["actor_name"] == "ada" and made[0]["data"]["imported"]["original_author"] == "sam"
    entry = next(e for e in answer.json()["entities"] if e["became"] == "entry")
    assert admin.get(f"/entries/{entry['record'].split(':')[1]}").json()["author"] == "ada"


def test_steps_out_of_order_are_refused(source: Client, target: TestClient, lineage: dict[str, Any]) -> None:
    def reversed_steps(document: dict[str, Any]) -> None:
        first, second = document["steps"]
        first["id"], second["id"] = second["id"], first["id"]
        for item in document["items"]:
            if item["produced_by"] in (first["id"], second["id"]):
                item["produced_by"] = second["id"] if item["produced_by"] == first["id"] else first["id"]

    refused = send(target, _rewritten(source.export(lineage["cell"], "eln"), reversed_steps))
    assert refused.status_code == 422, refused.text
    assert target.get(f"/items/{lineage['cell']}").status_code == 404


_LEAVES = (
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.text(max_size=12) | st.floats(allow_nan=False)
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for n, inner in enumerate(value):
            found += _paths(inner, (*prefix, n))
    return found


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_cellprov_archive_with_any_value_changed_never_gets_a_server_error(
    fuzzed_archive: tuple[bytes, list[tuple[Any, ...]]], target: TestClient, data: st.DataObject
) -> None:
    archive, paths = fuzzed_archive
    where = data.draw(st.sampled_from(paths))
    value = data.draw(_VALUES)

    def change(document: dict[str, Any]) -> None:
        inner = document
        for key in where[:-1]:
            inner = inner[key]
        inner[where[-1]] = value

    content = _rewritten(archive, change)
    for params in ({"dry_run": "true"}, {}):
        answer = send(target, content, **params)
        assert answer.status_code < 500, (where, value, answer.text)


@pytest.fixture
def fuzzed_archive(source: Client, lineage: dict[str, Any]) -> tuple[bytes, list[tuple[Any, ...]]]:
    import io
    import zipfile

    archive = source.export(lineage["cell"], "eln")
    with zipfile.ZipFile(io.BytesIO(archive)) as unpacked:
        name = next(n for n in unpacked.namelist() if n.endswith("/cellprov-records.json"))
        document = json.loads(unpacked.read(name))
    return archive, _paths(document)
