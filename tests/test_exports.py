"""Provenance exports: the worked example's cell as W3C PROV-JSON and as an ELN Consortium .eln archive."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prov.model import ProvDocument, ProvElement, ProvRelation, QualifiedName
from typer.testing import CliRunner

from clients import cli
from clients.cli import connect
from clients.client import CellprovError, Client
from clients.example import WorkedExample, load_worked_example
from schemas import ItemKind, ItemOut, ItemStatus, Role
from service.exports.eln import to_eln
from service.exports.logic import Person as ExportPerson
from service.exports.logic import Provenance
from tests.conftest import IN_CI, Person

SHARED_TOOLS = Path(__file__).resolve().parents[2] / "shared" / "tools"
CELLPROV = "urn:cellprov:"
FILE_STORES = ("local", "s3")  # these tests run on the folder and on a real S3 store


@pytest.fixture
def client(app: FastAPI, people: dict[Role, Person]) -> Iterator[Client]:
    http = TestClient(app, raise_server_exceptions=False)
    with Client(token=people[Role.scientist].token, http=http) as client:
        yield client


@pytest.fixture
def example(client: Client) -> WorkedExample:
    return load_worked_example(client)


@pytest.fixture(scope="session")
def validate_eln() -> Callable[[str | Path], list[tuple[str, str, str]]]:
    """The shared `validate_eln(path)` (roc-validator, offline); skipped only where the tools are absent."""
    if not (SHARED_TOOLS / "validate_eln.py").is_file():
        message = f"the shared tools folder with validate_eln.py is absent ({SHARED_TOOLS})"
        if IN_CI:
            pytest.fail(message + "; it is mandatory under CI=true")
        pytest.skip(message)
    if str(SHARED_TOOLS) not in sys.path:
        sys.path.insert(0, str(SHARED_TOOLS))
    from validate_eln import validate_eln as validate

    return validate  # type: ignore[no-any-return]


# -- PROV-JSON ----------------------------------------------------------------------------------------------


def prov_of(client: Client, code: str, **params: Any) -> tuple[ProvDocument, dict[str, Any]]:
    content = client.export(code, "prov-json", params.pop("max_depth", None), **params)
    return ProvDocument.deserialize(content=content, format="json"), json.loads(content)


def declared(document: ProvDocument) -> dict[QualifiedName, ProvElement]:
    return {record.identifier: record for record in document.get_records(ProvElement)}


def undeclared_endpoints(document: ProvDocument) -> list[str]:
    known = set(declared(document))
    return [
        f"{relation.get_type()}: {name}={value}"
        for relation in document.get_records(ProvRelation)
        for name, value in relation.formal_attributes
        if isinstance(value, QualifiedName) and value not in known
    ]


def derived_from(document: ProvDocument) -> dict[str, set[str]]:
    """Entity -> the entities it was derived from, by local name (the item code)."""
    sources: dict[str, set[str]] = {}
    for relation in document.get_records(ProvRelation):
        if relation.get_type().localpart == "Derivation":
            attributes = dict(relation.formal_attributes)
            generated = attributes[next(k for k in attributes if k.localpart == "generatedEntity")]
            used = attributes[next(k for k in attributes if k.localpart == "usedEntity")]
            sources.setdefault(generated.localpart, set()).add(used.localpart)
    return sources


def reaches(sources: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, frontier = {start}, [start]
    while frontier:
        for parent in sources.get(frontier.pop(), ()):
            if parent == goal:
                return True
            if parent not in seen:
                seen.add(parent)
                frontier.append(parent)
    return False


def attribute(record: ProvElement, local: str) -> Any:
    values = [value for key, value in record.attributes if key.localpart == local]
    assert len(values) == 1, (local, record)
    return values[0]


def test_prov_json_of_a_cell_loads_and_reaches_the_fecl3_lot(client: Client, example: WorkedExample) -> None:
    cell = example.cells["MOF@CoPc/Li"][0]
    document, raw = prov_of(client, cell)

    assert undeclared_endpoints(document) == []
    assert reaches(derived_from(document), cell, example.fecl3_lot)
    assert raw["prefix"]["item"] == "http://testserver/api/v1/items/"
    assert raw["prefix"]["cellprov"] == CELLPROV

    records = {record.identifier.localpart: record for record in declared(document).values()}
    lot = records[example.fecl3_lot]
    assert attribute(lot, "type").uri == CELLPROV + "Lot"
    assert attribute(lot, "supplierLot") == "MKCR4471"
    assert attribute(lot, "quantity") == "25 g" and attribute(lot, "status") == "released"
    assert attribute(lot, "receivedOn").value == "2025-01-13"
    assert attribute(records[cell], "type").uri == CELLPROV + "Cell"
    assert attribute(records[example.mof_copc], "kind") == "batch"

    everything = [r for r in document.get_records() if r.get_type().localpart == "Activity"]
    activities = [r for r in everything if r.identifier.namespace.prefix == "step"]
    assert len(activities) == 6  # assembly, anode coating, coating solution, impregnation, MOF, cathode
    synthesis = next(a for a in activities if "hydrothermal" in attribute(a, "protocol"))
    assert synthesis.get_startTime() is not None and synthesis.get_endTime() is not None

    associations = [r for r in document.get_records(ProvRelation) if r.get_type().localpart == "Association"]
    assert len(associations) == len(everything)
    for association in associations[: len(activities)]:
        formal = {key.localpart: value for key, value in association.formal_attributes}
        plan, agent = records[formal["plan"].localpart], records[formal["agent"].localpart]
        assert attribute(plan, "type").localpart == "Plan"
        assert attribute(agent, "type").localpart == "Person" and attribute(agent, "username") == "sam"
    plans = {attribute(records[k], "label") for k in records if "/versions/" in k}
    assert "nh2-mil-101-fe-hydrothermal@1" in plans

    # The synthesis used DMF twice (solvent, wash solvent): two usages with roles, one derivation.
    usages = [
        {key.localpart: value for key, value in r.attributes}
        for r in document.get_records(ProvRelation)
        if r.get_type().localpart == "Usage"
    ]
    assert sum(1 for u in usages if u["entity"].localpart == example.lots["DMF"]) == 3
    assert {"iron_source"} <= {u["role"] for u in usages if u["entity"].localpart == example.fecl3_lot}


def test_prov_json_is_bounded_by_depth_and_follows_direction(client: Client, example: WorkedExample) -> None:
    cell = example.cells["MOF@CoPc/Li"][0]
    near, _ = prov_of(client, cell, max_depth=1)
    codes = {
        name.localpart for name, record in declared(near).items() if record.get_type().localpart == "Entity"
    }
    assert {cell, example.anodes["MOF@CoPc/Li"][0], example.cathode} <= codes
    assert example.lots["LFP"] not in codes and example.fecl3_lot not in codes
    assert undeclared_endpoints(near) == []
    activities = [r for r in near.get_records() if r.get_type().localpart == "Activity"]
    steps = [r for r in activities if str(r.identifier).startswith("step:")]
    assert len(steps) == 1

    recall, _ = prov_of(client, example.fecl3_lot, direction="down")
    assert undeclared_endpoints(recall) == []
    sources = derived_from(recall)
    for coated in example.cells["MOF@CoPc/Li"] + example.cells["MOF/Li"]:
        assert reaches(sources, coated, example.fecl3_lot)
    assert not set(example.cells["bare Li"]) & {k.localpart for k in declared(recall)}


def test_exports_of_an_unknown_item_or_format_are_refused(api: TestClient) -> None:
    for fmt in ("prov-json", "eln"):
        missing = api.get("/items/NOPE-0001/export", params={"format": fmt})
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
    assert api.get("/items/NOPE-0001/export", params={"format": "rdf"}).status_code == 422
    assert api.get("/items/NOPE-0001/export", params={"max_depth": 0}).status_code == 422


# -- .eln ---------------------------------------------------------------------------------------------------


def crate_of(archive: bytes) -> tuple[str, dict[str, dict[str, Any]], zipfile.ZipFile]:
    """The top folder, the crate's nodes by @id, and the zip; asserts the .eln structural rules."""
    zipped = zipfile.ZipFile(io.BytesIO(archive))
    names = zipped.namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert len(tops) == 1 and all("/" in name for name in names), names  # one folder, nothing beside it
    (top,) = tops
    metadata = json.loads(zipped.read(f"{top}/ro-crate-metadata.json"))
    assert metadata["@context"] == "https://w3id.org/ro/crate/1.1/context"
    nodes = {node["@id"]: node for node in metadata["@graph"]}
    return top, nodes, zipped


def refs(value: Any) -> list[str]:
    return [ref["@id"] for ref in (value if isinstance(value, list) else [value])]


@pytest.fixture(scope="session")
def check_eln() -> Callable[[Path], dict[str, list[str]]]:
    """The shared `check_eln.check(path)`: the ELN Consortium's five checks, offline."""
    if not (SHARED_TOOLS / "check_eln.py").is_file():
        message = f"the shared tools folder with check_eln.py is absent ({SHARED_TOOLS})"
        if IN_CI:
            pytest.fail(message + "; it is mandatory under CI=true")
        pytest.skip(message)
    if str(SHARED_TOOLS) not in sys.path:
        sys.path.insert(0, str(SHARED_TOOLS))
    import offline_ctx
    from check_eln import check
    from rocrate_validator.utils.http import HttpRequester

    # check_eln mounts offline_ctx's local contexts once, but roc-validator (>= 0.13) builds a new HTTP
    # session for every validation: mount them on each new session too, so the validator never goes online.
    build = HttpRequester.__initialize_session__

    def offline_session(self: HttpRequester, *args: Any, **kwargs: Any) -> None:
        build(self, *args, **kwargs)
        for prefix in ("https://", "http://"):
            self.session.mount(prefix, offline_ctx.LocalContextAdapter())

    HttpRequester.__initialize_session__ = offline_session  # type: ignore[method-assign]
    return check  # type: ignore[no-any-return]


def test_eln_of_a_lot_a_batch_and_a_cell_up_and_down_passes_every_consortium_check(
    client: Client, example: WorkedExample, tmp_path: Path, check_eln: Callable[[Path], dict[str, list[str]]]
) -> None:
    cell = example.cells["MOF@CoPc/Li"][0]
    for code in (example.fecl3_lot, example.mof_copc, cell):
        for direction in ("up", "down"):
            path = tmp_path / f"{code}-{direction}.eln"
            path.write_bytes(client.export(code, "eln", direction=direction))
            results = check_eln(path)
            assert set(results) == {"structure", "rocrate", "metadata", "schema", "validator"}
            assert {name: problems for name, problems in results.items() if problems} == {}, (code, direction)


def test_eln_of_a_cell_passes_the_validator_and_the_consortium_rules(
    client: Client,
    api: TestClient,
    example: WorkedExample,
    tmp_path: Path,
    validate_eln: Callable[..., list[Any]],
) -> None:
    cell = example.cells["MOF@CoPc/Li"][0]
    archive = client.export(cell, "eln")
    path = tmp_path / f"{cell}.eln"
    path.write_bytes(archive)
    assert [issue for issue in validate_eln(path) if issue[0] == "REQUIRED"] == []

    top, nodes, zipped = crate_of(archive)
    assert top == cell
    descriptor, root = nodes["ro-crate-metadata.json"], nodes["./"]
    assert descriptor["conformsTo"] == {"@id": "https://w3id.org/ro/crate/1.1"}
    assert descriptor["version"] == "1.0"
    publisher = nodes[descriptor["sdPublisher"]["@id"]]
    assert publisher["@type"] == "Organization" and publisher["name"] and publisher["url"]
    assert cell in root["name"] and root["description"]
    assert datetime.fromisoformat(root["datePublished"]).tzinfo is not None
    assert nodes[root["license"]["@id"]]["@type"] == "CreativeWork"
    assert root["mainEntity"] == {"@id": f"items/{cell}/"}

    # Every item is a Dataset folder listed by the root, holding its record; Datasets never nest.
    folders = [node for node in nodes.values() if node["@type"] == "Dataset" and node["@id"] != "./"]
    datasets = [node for node in folders if node["@id"].startswith("items/")]
    # The root lists every folder (items, test runs, analyses, entries), plus the audit excerpt about them.
    assert set(refs(root["hasPart"])) == {node["@id"] for node in folders} | {
        "audit-excerpt.jsonl",
        "cellprov-records.json",  # what cellprov reads back on import (the round trip)
    }
    assert {node["identifier"] for node in datasets} >= {cell, example.fecl3_lot, example.mof_copc}
    for dataset in datasets:
        assert dataset["name"] and nodes[dataset["author"]["@id"]]["@type"] == "Person"
        for part in refs(dataset["hasPart"]):
            content = zipped.read(f"{top}/{part}")
            assert nodes[part]["@type"] == "File"
            assert nodes[part]["sha256"] == hashlib.sha256(content).hexdigest()
            assert nodes[part]["contentSize"] == str(len(content))
        record = refs(dataset["hasPart"])[0]
        assert json.loads(zipped.read(f"{top}/{record}"))["code"] == dataset["identifier"]
    # The cell's test run brings its raw cycler file, the very bytes the file store keeps.
    (run,) = api.get(f"/items/{cell}/tests").json()
    raw = f"tests/{run['id']}/raw/{run['file']['name']}"
    assert nodes[raw]["sha256"] == run["file"]["sha256"]
    assert hashlib.sha256(zipped.read(f"{top}/{raw}")).hexdigest() == run["file"]["sha256"]

    lot = nodes[f"items/{example.fecl3_lot}/"]
    properties = {nodes[ref]["propertyID"]: nodes[ref] for ref in refs(lot["variableMeasured"])}
    assert properties["supplier_lot"]["value"] == "MKCR4471"
    assert (properties["quantity"]["value"], properties["quantity"]["unitText"]) == (25, "g")

    # Steps are CreateActions: protocol as instrument, inputs (and parameters) as object, outputs as result.
    actions = {key: node for key, node in nodes.items() if node["@type"] == "CreateAction"}
    assert len([key for key in actions if key.startswith("#step-")]) == 6
    synthesis = next(a for a in actions.values() if "hydrothermal" in a["name"])
    assert nodes[synthesis["instrument"]["@id"]]["@type"] == "HowTo"
    assert nodes[synthesis["agent"]["@id"]] == {
        "@id": "#person-sam", "@type": "Person", "name": "Sam", "identifier": "sam", "jobTitle": "scientist",
    }  # fmt: skip
    inputs = refs(synthesis["object"])
    assert f"items/{example.fecl3_lot}/" in inputs and inputs.count(f"items/{example.lots['DMF']}/") == 1
    temperature = next(nodes[i] for i in inputs if nodes[i].get("propertyID") == "temperature")
    assert (temperature["value"], temperature["unitText"]) == (110, "degC")
    assert refs(synthesis["result"]) == [f"items/{example.mof}/"]
    assert synthesis["startTime"] and synthesis["endTime"]
    every_id = set(nodes)
    for action in actions.values():
        for key in ("instrument", "agent", "object", "result"):
            assert set(refs(action.get(key, []))) <= every_id, (action["@id"], key)


def test_eln_is_bounded_by_depth(client: Client, example: WorkedExample) -> None:
    cell = example.cells["bare Li"][0]
    _, nodes, _ = crate_of(client.export(cell, "eln", max_depth=1))
    items = {
        node["identifier"] for node in nodes.values() if node["@type"] == "Dataset" and "identifier" in node
    }
    assert cell in items and example.lots["Li foil disc"] in items and example.cathode in items
    assert example.lots["LFP"] not in items
    assert (
        len([key for key, node in nodes.items() if node["@type"] == "CreateAction" and "#step-" in key]) == 1
    )
    assert "at most 1 step away" in nodes["./"]["description"]


def _item(code: str, kind: ItemKind) -> ItemOut:
    now = datetime(2025, 3, 1, 12, tzinfo=UTC)
    return ItemOut(
        code=code, kind=kind, type="FeCl3·6H2O", name=None, status=ItemStatus.released, version=1,
        quantity=None, remaining=None, supplier=None, catalog_number=None, supplier_lot=None,
        received_on=None, expires_on=None, properties={"purity": {"value": 97, "unit": "percent"}},
        produced_by=None, created_at=now, created_by="sam", updated_at=now, void_reason=None,
    )  # fmt: skip


def test_eln_carries_the_audit_excerpt_and_signatures_it_is_given(
    tmp_path: Path, validate_eln: Callable[..., list[Any]]
) -> None:
    """The audit trail and signatures are wired in by their own domains; the writer is ready for them."""
    events = [{"seq": 1, "action": "lot.received", "entity": "FECL-0001", "hash": "ab" * 32}]
    signatures = [{"record": "FECL-0001", "meaning": "reviewed", "by": "rita"}]
    provenance = Provenance(
        root="FECL-0001", direction="up", max_depth=None, api_url="http://lab.example/api/v1",
        exported_at=datetime(2025, 3, 2, tzinfo=UTC), items=[_item("FECL-0001", ItemKind.lot)],
        depths={"FECL-0001": 0}, links=[], steps=[],
        people={"sam": ExportPerson("sam", "Sam", "scientist")}, audit=events, signatures=signatures,
    )  # fmt: skip
    archive = to_eln(provenance, "https://creativecommons.org/licenses/by/4.0/")
    top, nodes, zipped = crate_of(archive)
    assert set(refs(nodes["./"]["hasPart"])) == {
        "items/FECL-0001/",
        "audit-excerpt.jsonl",
        "signatures.json",
        "cellprov-records.json",
    }
    lines = zipped.read(f"{top}/audit-excerpt.jsonl").decode().splitlines()
    assert [json.loads(line) for line in lines] == events
    assert json.loads(zipped.read(f"{top}/signatures.json")) == signatures
    assert nodes["audit-excerpt.jsonl"]["encodingFormat"] == "application/x-ndjson"
    path = tmp_path / "lot.eln"
    path.write_bytes(archive)
    assert [issue for issue in validate_eln(path) if issue[0] == "REQUIRED"] == []


# -- client and command line --------------------------------------------------------------------------------


def test_the_client_raises_the_servers_problem(client: Client) -> None:
    with pytest.raises(CellprovError) as refused:
        client.export("NOPE-0001", "eln")
    assert refused.value.status == 404


def test_cellprov_export_writes_the_file_and_says_where(
    app: FastAPI,
    people: dict[Role, Person],
    example: WorkedExample,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = people[Role.auditor].token  # an auditor, read-only, may export
    monkeypatch.setattr(
        connect,
        "Client",
        lambda url, token: Client(token=token, http=TestClient(app, raise_server_exceptions=False)),
    )
    monkeypatch.chdir(tmp_path)
    cell = example.cells["MOF@CoPc/Li"][0]
    runner = CliRunner()

    default = runner.invoke(cli.app, ["--token", token, "export", cell])
    assert default.exit_code == 0, default.output
    written = tmp_path / f"{cell}.prov.json"
    assert f"{cell}.prov.json" in default.stdout
    ProvDocument.deserialize(content=written.read_text(), format="json")

    out = tmp_path / "archive" / "cell.eln"
    out.parent.mkdir()
    args = [
        "--token",
        token,
        "--json",
        "export",
        cell,
        "--format",
        "eln",
        "--out",
        str(out),
        "--max-depth",
        "2",
    ]
    as_eln = runner.invoke(cli.app, args)
    assert as_eln.exit_code == 0, as_eln.output
    report = json.loads(as_eln.stdout)
    assert report == {"path": str(out.resolve()), "format": "eln", "bytes": out.stat().st_size}
    assert crate_of(out.read_bytes())[0] == cell

    missing = runner.invoke(cli.app, ["--token", token, "export", "NOPE-0001"])
    assert missing.exit_code == 1 and "404" in missing.stderr
    assert not (tmp_path / "NOPE-0001.prov.json").exists()


# -- complete exports: test runs, analyses, entries, signatures, files ---------------------------------------


@pytest.fixture
def noted(
    client: Client, example: WorkedExample, people: dict[Role, Person], tmp_path: Path
) -> dict[str, Any]:
    """An entry about the first MOF@CoPc/Li cell and its test run, with a photo attached, e-signed."""
    from schemas.entries import EntryIn

    cell = example.cells["MOF@CoPc/Li"][0]
    photo = tmp_path / "crimped cell.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    entry = client.write_entry(
        EntryIn(
            title="Crimped and rested",
            body="# Assembly\nRested **12 h** before cycling.",
            tags=["assembly"],
            links=[f"item:{cell}", f"test_run:{example.tests[cell]}"],
        ),
        files=[photo],
    )
    client.sign(f"entry:{entry.id}", "authored", people[Role.scientist].password)
    return {"cell": cell, "entry": entry, "photo": photo.read_bytes()}


def test_eln_of_a_cell_carries_its_test_run_analyses_entries_and_signatures(
    client: Client,
    example: WorkedExample,
    noted: dict[str, Any],
    tmp_path: Path,
    check_eln: Callable[[Path], dict[str, list[str]]],
) -> None:
    cell, entry = noted["cell"], noted["entry"]
    run = client.request("GET", f"/tests/{example.tests[cell]}").json()
    archive = client.export(cell, "eln")
    path = tmp_path / "complete.eln"
    path.write_bytes(archive)
    assert {name: problems for name, problems in check_eln(path).items() if problems} == {}

    top, nodes, zipped = crate_of(archive)
    folder = nodes[f"tests/{run['id']}/"]
    assert folder["about"] == {"@id": f"items/{cell}/"}
    parts = {nodes[ref]["name"]: nodes[ref] for ref in refs(folder["hasPart"])}
    raw = parts[run["file"]["name"]]
    raw_bytes = zipped.read(f"{top}/{raw['@id']}")
    assert hashlib.sha256(raw_bytes).hexdigest() == raw["sha256"] == run["file"]["sha256"]
    assert raw["contentSize"] == str(len(raw_bytes)) == str(run["file"]["size"])
    for name in ("cycles.csv", "metrics.csv", "test.json"):
        content = zipped.read(f"{top}/{parts[name]['@id']}")
        assert parts[name]["sha256"] == hashlib.sha256(content).hexdigest()
    cycles = zipped.read(f"{top}/tests/{run['id']}/cycles.csv").decode().splitlines()
    assert len(cycles) == 1 + run["cycle_count"] and cycles[0].startswith("cycle,")
    metrics = zipped.read(f"{top}/tests/{run['id']}/metrics.csv").decode()
    assert "convention" in metrics.splitlines()[0] and "reference cycle" in metrics.lower()
    record = json.loads(zipped.read(f"{top}/tests/{run['id']}/test.json"))
    assert record["parser"] == run["parser"] and record["parser_version"] == run["parser_version"]
    assert record["protocol"] == "lfp-li-cycling@1" and record["options"] == run["options"]
    action = nodes[f"#test-{run['id']}"]
    assert refs(action["object"]) == [f"items/{cell}/"] and raw["@id"] in refs(action["result"])
    assert nodes[action["instrument"]["@id"]]["@type"] == "HowTo"

    # The XPS of the anode in this cell's lineage, with its result and unit.
    xps = next(node for node in nodes.values() if node.get("identifier", "").startswith("analysis:"))
    results = [nodes[ref] for ref in refs(xps["variableMeasured"])]
    assert any(r["propertyID"] == "LiF fraction" and r["unitText"] == "%" for r in results)

    # The entry: its Markdown, its attachment's bytes, its links, its signature.
    entry_folder = nodes[f"entries/{entry.id}/"]
    assert zipped.read(f"{top}/entries/{entry.id}/entry.md").decode() == entry.body
    attached = [nodes[ref] for ref in refs(entry_folder["hasPart"])]
    photo = next(node for node in attached if node["name"] == "crimped cell.png")
    assert zipped.read(f"{top}/{photo['@id']}") == noted["photo"]
    assert photo["sha256"] == hashlib.sha256(noted["photo"]).hexdigest()
    assert set(refs(entry_folder["mentions"])) == {f"items/{cell}/", f"tests/{run['id']}/"}
    signatures = json.loads(zipped.read(f"{top}/signatures.json"))
    assert any(s["record"] == f"entry:{entry.id}" and s["meaning"] == "authored" for s in signatures)


def test_include_leaves_the_raw_files_out_but_still_names_them(
    client: Client, example: WorkedExample, noted: dict[str, Any], tmp_path: Path,
    check_eln: Callable[[Path], dict[str, list[str]]],
) -> None:  # fmt: skip
    cell = noted["cell"]
    run = client.request("GET", f"/tests/{example.tests[cell]}").json()
    archive = client.export(cell, "eln", include="-raw")
    path = tmp_path / "lean.eln"
    path.write_bytes(archive)
    assert {name: problems for name, problems in check_eln(path).items() if problems} == {}
    top, nodes, zipped = crate_of(archive)
    assert not [name for name in zipped.namelist() if "/raw/" in name]
    address = f"http://testserver/api/v1/files/{run['file']['sha256']}"
    assert nodes[address]["sha256"] == run["file"]["sha256"]
    assert f"{top}/tests/{run['id']}/cycles.csv" in zipped.namelist()

    only_items = client.export(cell, "eln", include="audit")
    _, nodes, _ = crate_of(only_items)
    assert not [key for key in nodes if key.startswith(("tests/", "entries/", "analyses/"))]

    with pytest.raises(CellprovError) as refused:
        client.export(cell, "eln", include="raw,bogus")
    assert refused.value.status == 422 and "bogus" in refused.value.problem.model_dump_json()


def test_prov_json_traces_metrics_to_the_raw_bytes(
    client: Client, example: WorkedExample, noted: dict[str, Any]
) -> None:
    cell, entry = noted["cell"], noted["entry"]
    run = client.request("GET", f"/tests/{example.tests[cell]}").json()
    document, _ = prov_of(client, cell)
    assert undeclared_endpoints(document) == []
    records = {str(record.identifier): record for record in declared(document).values()}
    test = records[f"test:{run['id']}"]
    assert attribute(test, "parser") == run["parser"] and attribute(test, "protocol") == "lfp-li-cycling@1"
    raw = records[f"file:{run['file']['sha256']}"]
    assert attribute(raw, "sha256") == run["file"]["sha256"]
    metrics = records[f"test:{run['id']}/metrics"]
    assert {m["name"]: m for m in json.loads(attribute(metrics, "metrics"))}["formation_cycles"]
    sources: dict[str, set[str]] = {}
    for relation in document.get_records(ProvRelation):
        if relation.get_type().localpart == "Derivation":
            formal = {key.localpart: str(value) for key, value in relation.formal_attributes}
            sources.setdefault(formal["generatedEntity"], set()).add(formal["usedEntity"])
    assert sources[f"test:{run['id']}/metrics"] == {f"test:{run['id']}/cycles"}
    assert sources[f"test:{run['id']}/cycles"] == {f"file:{run['file']['sha256']}"}
    cycles = client.request("GET", f"/tests/{run['id']}/cycles", params={"format": "csv"})
    assert cycles.status_code == 200
    used = [
        {key.localpart: str(value) for key, value in r.formal_attributes}
        for r in document.get_records(ProvRelation)
        if r.get_type().localpart == "Usage"
    ]
    assert {"activity": f"test:{run['id']}", "entity": f"item:{cell}", "time": "None"} in used
    note = records[f"entry:{entry.id}"]
    assert attribute(note, "body") == entry.body
    assert "authored" in attribute(note, "signatures")
    analyses = [r for r in records.values() if str(r.identifier).startswith("analysis:")]
    assert any("LiF fraction" in attribute(a, "results") for a in analyses)
