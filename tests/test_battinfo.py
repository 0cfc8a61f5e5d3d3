"""BattINFO JSON-LD of a cell: the worked example's coin cells, described from their lineage, parsed by rdflib
into a graph (offline: the context is embedded) that holds what the lineage holds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF
from typer.testing import CliRunner

from clients import cli
from clients.cli import connect
from clients.client import Client
from clients.example import WorkedExample, load_worked_example
from schemas import Role
from service.exports.battinfo import CONTEXT_FILE
from tests.conftest import Person

EC = "https://w3id.org/emmo/domain/electrochemistry#electrochemistry_"
EMMO = "https://w3id.org/emmo#EMMO_"
CHEM = "https://w3id.org/emmo/domain/chemicalsubstance#substance_"
COIN_CELL = URIRef("https://w3id.org/emmo/domain/battery#battery_b7fdab58_6e91_4c84_b097_b06eff86a124")
R2025 = URIRef(EC + "9ceffffd_b918_48c2_aad9_5db16fa6149d")
HAS_POSITIVE = URIRef(EC + "8e9cf965_9f92_46e8_b678_b50410ce3616")
HAS_NEGATIVE = URIRef(EC + "5d299271_3f68_494f_ab96_3db9acdd3138")
HAS_ELECTROLYTE = URIRef(EC + "3bd08946_4e81_455d_9fca_dc7a5ead9315")
HAS_SEPARATOR = URIRef(EC + "9317be62_e602_4343_a72d_02c87201b9f6")
HAS_CASE = URIRef(EC + "3dcfe33d_6825_43c0_a798_68e871a68d39")
HAS_COATING = URIRef(EC + "4df9926d_d4f2_4955_93f3_a03c5edc5383")
HAS_ACTIVE = URIRef(EC + "860aa941_5ff9_4452_8a16_7856fad07bee")
HAS_MEASURED = URIRef(EMMO + "fd689787_31b0_41cf_bf03_0d69af76469d")
HAS_NUMERICAL_PART = URIRef(EMMO + "8ef3cd6d_ae58_4a8d_9fc0_ad8f49015cd0")
HAS_NUMBER = URIRef(EMMO + "faf79f53_749d_40b2_807c_d34244c192f4")
HAS_UNIT = URIRef(EMMO + "bed1d005_b04e_4a90_94cf_02bc678a8569")
HAS_CONSTITUENT = URIRef(EMMO + "dba27ca1_33c9_4443_a912_1519ce4c39ec")
LFP = URIRef(CHEM + "aa8e9cc4_5f66_4307_b1c8_26fac7653a90")
LITHIUM = URIRef(CHEM + "c109ca45_08c7_4436_a818_a9c575785e2f")
POLYPROPYLENE = URIRef(CHEM + "c5cff8c2_581e_4341_a3e6_8ba8c8ce2d2b")
LITFSI = URIRef(CHEM + "8267551d_7572_42f6_888d_96ff0c78f3aa")
MASS_LOADING = URIRef(EC + "c955c089_6ee1_41a2_95fc_d534c5cfd3d5")
VOLUME = URIRef(EMMO + "f1a51559_aa3d_43a0_9327_918039f0dfed")
MG_PER_CM2 = URIRef("https://qudt.org/vocab/unit/MilliGM-PER-CentiM2")


@pytest.fixture
def client(app: FastAPI, people: dict[Role, Person]) -> Iterator[Client]:
    http = TestClient(app, raise_server_exceptions=False)
    with Client(token=people[Role.scientist].token, http=http) as client:
        yield client


@pytest.fixture
def example(client: Client) -> WorkedExample:
    return load_worked_example(client)


def _export(client: Client, code: str, fmt: str = "battinfo"):
    headers = {"Authorization": f"Bearer {client.token}"}
    return client.http.get(f"/api/v1/items/{code}/export", params={"format": fmt}, headers=headers)


def _graph(body: bytes) -> Graph:
    # The context is embedded: rdflib resolves nothing over the network.
    return Graph().parse(data=body, format="json-ld")


def _value(graph: Graph, node, kind: URIRef) -> tuple[float, URIRef | None]:
    """The number and unit of `node`'s measured property of class `kind`."""
    (quantity,) = [q for q in graph.objects(node, HAS_MEASURED) if (q, RDF.type, kind) in graph]
    number = graph.value(graph.value(quantity, HAS_NUMERICAL_PART), HAS_NUMBER)
    unit = graph.value(quantity, HAS_UNIT)
    assert isinstance(number, Literal)
    return float(number.toPython()), unit  # type: ignore[arg-type]


def test_a_coin_cell_has_an_lfp_cathode_with_the_loading_its_lineage_holds(
    client: Client, example: WorkedExample
) -> None:
    cell = example.cells["MOF@CoPc/Li"][0]
    answer = _export(client, cell)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/ld+json")
    assert answer.headers["content-disposition"].endswith(f'{cell}.battinfo.jsonld"')
    document = answer.json()
    assert isinstance(document["@context"], dict), "the context is embedded, not fetched"
    graph = _graph(answer.content)
    subject = URIRef(document["@id"])
    assert document["@id"].endswith(f"/api/v1/items/{cell}")
    assert (subject, RDF.type, COIN_CELL) in graph

    positive = graph.value(subject, HAS_POSITIVE)
    coating = graph.value(positive, HAS_COATING)
    active = graph.value(coating, HAS_ACTIVE)
    assert (active, RDF.type, LFP) in graph
    loading, unit = _value(graph, active, MASS_LOADING)
    sheet = client.item(example.cathode)
    assert loading == pytest.approx(sheet.properties["areal_loading"]["value"]) == pytest.approx(11.05)
    assert unit == MG_PER_CM2
    # The active material's share of the solids, from the casting step's amounts (0.8 g of 1.0 g).
    fraction, _ = _value(graph, active, URIRef(EMMO + "7c055d65_2929_40e1_af4f_4bf10995ad50"))
    assert fraction == pytest.approx(80)

    negative = graph.value(subject, HAS_NEGATIVE)
    assert (graph.value(negative, HAS_ACTIVE), RDF.type, LITHIUM) in graph
    assert graph.value(negative, HAS_COATING) is not None, "the MOF@CoPc layer on the Li disc"
    assert (graph.value(subject, HAS_SEPARATOR), RDF.type, POLYPROPYLENE) in graph
    assert (graph.value(subject, HAS_CASE), RDF.type, R2025) in graph
    electrolyte = graph.value(subject, HAS_ELECTROLYTE)
    assert any((c, RDF.type, LITFSI) in graph for c in graph.objects(electrolyte, HAS_CONSTITUENT))
    volume, _ = _value(graph, electrolyte, VOLUME)
    assert volume == pytest.approx(40)

    # Every component names the item it came from; the assembly names its step and operator.
    derived = {str(o) for o in graph.objects(None, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom"))}
    assert any(url.endswith(f"/items/{example.cathode}") for url in derived)
    assert any(url.endswith(f"/items/{example.lots['PP separator']}") for url in derived)
    assembly = json.dumps(document["@reverse"]["hasManufacturedOutput"])
    assert "cr2025-assembly@2" in assembly and "o2_ppm" in assembly and "GB-1" in assembly


def test_a_bare_li_cell_and_the_shipped_context(client: Client, example: WorkedExample) -> None:
    cell = example.cells["bare Li"][0]
    answer = _export(client, cell)
    assert answer.status_code == 200, answer.text
    graph = _graph(answer.content)
    subject = URIRef(answer.json()["@id"])
    negative = graph.value(subject, HAS_NEGATIVE)
    assert (graph.value(negative, HAS_ACTIVE), RDF.type, LITHIUM) in graph
    assert graph.value(negative, HAS_COATING) is None
    shipped = json.loads(CONTEXT_FILE.read_text(encoding="utf-8"))["@context"]
    assert answer.json()["@context"] == shipped


def test_a_non_cell_or_an_unknown_code_is_refused_clearly(client: Client, example: WorkedExample) -> None:
    for code, kind in ((example.cathode, "batch"), (example.fecl3_lot, "lot")):
        refused = _export(client, code)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert f"{code} is a {kind}" in refused.json()["detail"] and "not a cell" in refused.json()["detail"]
    missing = _export(client, "CC-9999")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    bad = _export(client, example.all_cells[0], "emmo")
    assert bad.status_code == 422 and "format" in bad.text


def test_cellprov_export_format_battinfo_writes_the_document(
    app: FastAPI,
    people: dict[Role, Person],
    example: WorkedExample,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = people[Role.auditor].token  # read-only, may export
    monkeypatch.setattr(
        connect,
        "Client",
        lambda url, token: Client(token=token, http=TestClient(app, raise_server_exceptions=False)),
    )
    monkeypatch.chdir(tmp_path)
    cell = example.cells["bare Li"][1]
    done = CliRunner().invoke(cli.app, ["--token", token, "export", cell, "--format", "battinfo"])
    assert done.exit_code == 0, done.output
    written = tmp_path / f"{cell}.battinfo.jsonld"
    assert written.name in done.stdout
    graph = _graph(written.read_bytes())
    assert (URIRef(json.loads(written.read_text())["@id"]), RDF.type, COIN_CELL) in graph
    refused = CliRunner().invoke(
        cli.app, ["--token", token, "export", example.cathode, "--format", "battinfo"]
    )
    assert refused.exit_code != 0 and "not a cell" in refused.output
