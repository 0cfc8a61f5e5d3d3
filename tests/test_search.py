"""Search through the API, the same answers on SQLite (FTS5) and PostgreSQL (tsvector)."""

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from clients.client import Client
from clients.example import WorkedExample, load_worked_example
from schemas import Role
from service.search.text import index_terms, query_terms, snippet
from tests.conftest import Person


@pytest.fixture
def example(app: FastAPI, people: dict[Role, Person]) -> Iterator[WorkedExample]:
    http = TestClient(app, raise_server_exceptions=False)
    with Client(token=people[Role.scientist].token, http=http) as client:
        yield load_worked_example(client)


def hits(api: TestClient, q: str, **params) -> list[tuple[str, str]]:
    response = api.get("/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return [(hit["kind"], hit["key"]) for hit in response.json()["hits"]]


def test_terms_are_the_same_for_index_and_query():
    assert index_terms("CC-0001 FeCl3·6H2O") == ["cc", "0001", "cc0001", "fecl3", "6h2o", "fecl36h2o"]
    assert query_terms("cc-0001") == ["cc0001"]
    assert query_terms("Café  LiPF₆") == ["cafe", "lipf6"]
    assert query_terms("-- ** ") == []


def test_snippets_mark_the_match():
    text = "word " * 60 + "the filter clogged after 3 h " + "tail " * 60
    cut, spans = snippet(text, ["clog"])
    assert cut.startswith("…") and cut.endswith("…")
    assert [cut[a:b] for a, b in spans] == ["clogged"]


def test_a_cell_code_finds_the_cell_first(api, example):
    found = hits(api, "CC-0001")
    assert found[0] == ("item", "CC-0001")
    assert ("item", "CC-0002") not in found  # the whole code is one term, not "cc" and "0001"
    assembly = api.get("/items/CC-0001").json()["produced_by"]
    assert ("step", str(assembly)) in found  # the assembly step that made it


def test_a_supplier_lot_number_finds_its_lot(api, example):
    assert hits(api, "MKCR4471") == [("item", example.fecl3_lot)]
    assert hits(api, "mkcr44") == [("item", example.fecl3_lot)]  # a prefix is enough
    assert hits(api, "LIC-240918-2")[0] == ("item", example.lots["Li foil disc"])


def test_step_notes_and_item_names_are_searched(api, example):
    assert hits(api, "sonicated linker") == [("step", str(example.steps[0]))]
    assert ("item", example.fecl3_lot) in hits(api, "iron chloride hexahydrate")
    assert hits(api, "copc_mass_fraction 7.7", kind="item") == [("item", example.mof_copc)]


def test_entries_are_found_and_the_index_follows_corrections(api, example):
    cell = example.cells["MOF@CoPc/Li"][0]
    created = api.post(
        "/entries",
        json={
            "title": "Swelling",
            "body": "Cell case bulged after 40 cycles; electrolyte leak?",
            "links": [f"item:{cell}"],
        },
    ).json()
    answer = api.get("/search", params={"q": "bulged"}).json()
    assert [(h["kind"], h["key"]) for h in answer["hits"]] == [("entry", str(created["id"]))]
    hit = answer["hits"][0]
    assert [hit["snippet"][a:b] for a, b in hit["highlights"]] == ["bulged"]
    assert hit["path"] == f"/entries/{created['id']}"
    assert ("entry", str(created["id"])) in hits(api, cell)  # linked codes are searchable
    api.patch(
        f"/entries/{created['id']}",
        json={"reason": "was a different cell", "body": "no swelling seen"},
        headers={"If-Match": '"1"'},
    )
    assert hits(api, "bulged") == []
    assert hits(api, "swelling") == [("entry", str(created["id"]))]


def test_item_corrections_and_voids_reach_the_index(api, example):
    lot = example.lots["THF"]
    current = api.get(f"/items/{lot}")
    api.patch(
        f"/items/{lot}",
        json={"reason": "label misread", "supplier_lot": "SHBZ9999"},
        headers={"If-Match": current.headers["ETag"]},
    )
    assert hits(api, "SHBP7105") == []
    assert hits(api, "SHBZ9999") == [("item", lot)]
    status = api.get("/search", params={"q": "SHBZ9999"}).json()["hits"][0]["status"]
    assert status == "released"


def test_nonsense_and_empty_queries(api, example):
    assert hits(api, "zzzyxw") == []
    assert api.get("/search", params={"q": "!!!"}).json() == {"query": "!!!", "terms": [], "hits": []}
    assert api.get("/search", params={"q": ""}).status_code == 422
    assert hits(api, "'); DROP TABLE items; --") == []
    assert hits(api, 'AND OR NOT "x*"') == []


def test_analysis_results_and_test_runs_are_found(api, example):
    found = hits(api, "LiF fraction")
    assert {key for kind, key in found if kind == "analysis"} >= {str(i) for i in example.analyses[:2]}
    cell = example.cells["MOF@CoPc/Li"][0]
    runs = [key for kind, key in hits(api, f"{cell} lfp-li-cycling") if kind == "test_run"]
    assert runs[:1] == [str(example.tests[cell])]


def test_an_entry_can_link_a_test_run_and_an_analysis(api, example):
    cell = example.cells["MOF@CoPc/Li"][0]
    entry = {
        "title": "Capacity dip at cycle 40",
        "body": "Room temperature dropped overnight.",
        "links": [f"test_run:{example.tests[cell]}", f"analysis:{example.analyses[0]}"],
    }
    assert api.post("/entries", json=entry).status_code == 201
    missing = api.post("/entries", json={**entry, "links": ["test_run:999999"]})
    assert missing.status_code == 422 and missing.json()["errors"][0]["pointer"] == "/links/0"
