"""Lineage through the API: the reference workflow from reagent lots to coin cells, walked up and down."""

import pytest

from tests.lab import (
    ASSEMBLY,
    CASTING,
    COATING,
    DISPERSION,
    IMPREGNATION,
    SYNTHESIS,
    log,
    made,
    pointers,
    problem_of,
    publish_bench,
    receive,
    remaining,
    used,
)


@pytest.fixture(autouse=True)
def _bench(admin):
    publish_bench(admin)


@pytest.fixture
def lab(api):
    """Lots → NH2-MIL-101(Fe) → MOF@CoPc → coating solution → 3 anodes → 3 CR2025 cells, one LFP cathode sheet
    shared by every cell, and a bare-Li control cell. The DMF lot is a diamond: it goes into the MOF synthesis
    and again into the impregnation, so it reaches each cell along two paths (depths 5 and 4)."""
    lot = {
        name: receive(api, type_name, quantity)["code"]
        for name, type_name, quantity in [
            ("fecl", "FeCl3·6H2O", "25 g"),
            ("linker", "2-aminoterephthalic acid", "10 g"),
            ("dmf", "DMF", "1 L"),
            ("ethanol", "ethanol", "2.5 L"),
            ("copc", "CoPc", "1 g"),
            ("thf", "THF", "100 mL"),
            ("li", "Li foil disc", "50 count"),
            ("lfp", "LFP", "50 g"),
            ("pvdf", "PVDF", "10 g"),
            ("cb", "carbon black", "10 g"),
            ("nmp", "NMP", "500 mL"),
            ("al", "carbon-coated Al foil", "2 m**2"),
            ("separator", "PP separator", "100 count"),
            ("electrolyte", "electrolyte LiTFSI DOL/DME", "100 mL"),
            ("case", "CR2025 case", "100 count"),
        ]
    }
    [mof] = made(
        log(
            api,
            SYNTHESIS,
            [
                used("iron_source", lot["fecl"], "2.75 g"),
                used("linker", lot["linker"], "1.105 g"),
                used("solvent", lot["dmf"], "80 mL"),
                used("wash", lot["ethanol"], "100 mL"),
            ],
            {"type": "NH2-MIL-101(Fe)", "quantity": "0.82 g"},
        )
    )
    [mof_copc] = made(
        log(
            api,
            IMPREGNATION,
            [
                used("mof", mof, "60 mg"),
                used("copc", lot["copc"], "5 mg"),
                used("solvent", lot["dmf"], "40 mL"),
            ],
            {"type": "MOF@CoPc", "quantity": "58 mg"},
        )
    )
    [solution] = made(
        log(
            api,
            DISPERSION,
            [used("powder", mof_copc, "58 mg"), used("solvent", lot["thf"], "1.64 mL")],
            {"type": "coating solution", "quantity": "1.64 mL"},
        )
    )
    anodes = made(
        log(
            api,
            COATING,
            [used("coating", solution, "150 µL"), used("substrate", lot["li"], "3 count")],
            {"type": "MOF@CoPc/Li anode", "count": 3},
        )
    )
    [cathode] = made(
        log(
            api,
            CASTING,
            [
                used("active", lot["lfp"], "8 g"),
                used("binder", lot["pvdf"], "1 g"),
                used("conductor", lot["cb"], "1 g"),
                used("solvent", lot["nmp"], "20 mL"),
                used("collector", lot["al"], "0.05 m**2"),
            ],
            {"type": "LFP cathode sheet", "properties": {"areal_loading": "11.05 mg/cm**2"}},
        )
    )
    parts = [
        used("cathode", cathode),
        used("separator", lot["separator"], "1 count"),
        used("electrolyte", lot["electrolyte"], "40 µL"),
        used("case", lot["case"], "1 count"),
    ]
    cells = [
        made(log(api, ASSEMBLY, [used("anode", anode), *parts], {"type": "CR2025 coin cell"}))[0]
        for anode in anodes
    ]
    [control] = made(
        log(
            api,
            ASSEMBLY,
            [used("anode", lot["li"], "1 count"), *parts],
            {"type": "CR2025 coin cell", "name": "bare Li control"},
        )
    )
    return {
        **lot,
        "mof": mof,
        "mof_copc": mof_copc,
        "solution": solution,
        "anodes": anodes,
        "cathode": cathode,
        "cells": cells,
        "control": control,
    }


def _trace(api, code, **params):
    response = api.get(f"/items/{code}/lineage", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _depths(lineage):
    return {node["code"]: node["depth"] for node in lineage["nodes"]}


def _upstream_of_first_cell(lab):
    return {
        lab["cells"][0]: 0,
        **{lab[k]: 1 for k in ("cathode", "separator", "electrolyte", "case")},
        lab["anodes"][0]: 1,
        **{lab[k]: 2 for k in ("solution", "li", "lfp", "pvdf", "cb", "nmp", "al")},
        **{lab[k]: 3 for k in ("mof_copc", "thf")},
        **{lab[k]: 4 for k in ("mof", "copc", "dmf")},
        **{lab[k]: 5 for k in ("fecl", "linker", "ethanol")},
    }


def test_upstream_of_a_cell_reaches_every_reagent_at_its_shortest_depth(api, lab):
    cell = lab["cells"][0]
    lineage = _trace(api, cell, direction="up")
    assert lineage["root"] == cell and lineage["direction"] == "up" and lineage["max_depth"] is None
    assert _depths(lineage) == _upstream_of_first_cell(lab)
    assert len(lineage["nodes"]) == len(_depths(lineage)), "each item once, the DMF diamond too"
    assert [n["depth"] for n in lineage["nodes"]] == sorted(n["depth"] for n in lineage["nodes"])
    fecl = next(n for n in lineage["nodes"] if n["code"] == lab["fecl"])
    assert fecl == {
        "code": lab["fecl"],
        "kind": "lot",
        "type": "FeCl3·6H2O",
        "name": None,
        "status": "released",
        "depth": 5,
    }
    edges = {(e["source"], e["target"], e["role"]) for e in lineage["edges"]}
    assert (lab["dmf"], lab["mof"], "solvent") in edges and (lab["dmf"], lab["mof_copc"], "solvent") in edges
    assert (lab["fecl"], lab["mof"], "iron_source") in edges
    assert (lab["anodes"][0], cell, "anode") in edges
    assert not any(e["target"] in lab["anodes"][1:] for e in lineage["edges"]), "only this cell's anode"
    protocols = {(e["source"], e["target"]): e["protocol"] for e in lineage["edges"]}
    assert protocols[(lab["mof"], lab["mof_copc"])] == IMPREGNATION


def test_max_depth_limits_the_walk(api, lab):
    everything = _upstream_of_first_cell(lab)
    for depth in (1, 2, 4):
        lineage = _trace(api, lab["cells"][0], direction="up", max_depth=depth)
        assert lineage["max_depth"] == depth
        assert _depths(lineage) == {code: d for code, d in everything.items() if d <= depth}
        assert all({e["source"], e["target"]} <= set(_depths(lineage)) for e in lineage["edges"])
    # At depth 3 the walk stops before the MOF synthesis: none of its inputs, nor the DMF lot, is listed.
    shallow = _trace(api, lab["cells"][0], max_depth=3)
    assert lab["dmf"] not in _depths(shallow) and lab["fecl"] not in _depths(shallow)


def test_kind_and_type_filters_list_only_matching_items(api, lab):
    lots = _trace(api, lab["cells"][0], direction="up", kind="lot")
    expected = {
        c: d
        for c, d in _upstream_of_first_cell(lab).items()
        if c.split("-")[0] not in ("CC", "ACL", "CAT", "SOL", "MCP", "MOF")
    }
    assert _depths(lots) == expected
    assert lots["edges"] == [], "no two lots are linked directly"
    assert _depths(_trace(api, lab["cells"][0], type="FeCl3·6H2O")) == {lab["fecl"]: 5}
    batches = _trace(api, lab["cells"][0], kind="batch")
    assert _depths(batches) == {
        lab["anodes"][0]: 1,
        lab["cathode"]: 1,
        lab["solution"]: 2,
        lab["mof_copc"]: 3,
        lab["mof"]: 4,
    }
    assert {(e["source"], e["target"]) for e in batches["edges"]} == {
        (lab["solution"], lab["anodes"][0]),
        (lab["mof_copc"], lab["solution"]),
        (lab["mof"], lab["mof_copc"]),
    }
    assert _trace(api, lab["cells"][0], type="no such type")["nodes"] == []


def test_downstream_of_the_iron_lot_lists_exactly_the_cells_made_from_it(api, lab):
    recall = _trace(api, lab["fecl"], direction="down", kind="cell")
    assert _depths(recall) == dict.fromkeys(lab["cells"], 5)
    assert lab["control"] not in _depths(recall)
    everything = _depths(_trace(api, lab["fecl"], direction="down"))
    assert everything == {
        lab["fecl"]: 0,
        lab["mof"]: 1,
        lab["mof_copc"]: 2,
        lab["solution"]: 3,
        **dict.fromkeys(lab["anodes"], 4),
        **dict.fromkeys(lab["cells"], 5),
    }


def test_a_recall_of_the_items_alone_lists_the_same_cells_without_links_or_records(api, lab):
    whole = _trace(api, lab["fecl"], direction="down")
    alone = _trace(api, lab["fecl"], direction="down", include="nodes")
    assert whole["include"] == "all" and whole["edges"]
    assert alone["include"] == "nodes"
    assert alone["nodes"] == whole["nodes"]
    assert (alone["edges"], alone["tests"], alone["analyses"], alone["entries"]) == ([], [], [], {})
    cells = _trace(api, lab["fecl"], direction="down", kind="cell", include="nodes")
    assert _depths(cells) == dict.fromkeys(lab["cells"], 5)


def test_shared_inputs_reach_every_cell_downstream(api, lab):
    every_cell = {*lab["cells"], lab["control"]}
    assert set(_depths(_trace(api, lab["cathode"], direction="down", kind="cell"))) == every_cell
    li_cells = _depths(_trace(api, lab["li"], direction="down", kind="cell"))
    assert li_cells == {**dict.fromkeys(lab["cells"], 2), lab["control"]: 1}
    # Through the diamond, each downstream item appears once, at its shortest depth.
    dmf = _depths(_trace(api, lab["dmf"], direction="down"))
    assert (dmf[lab["mof"]], dmf[lab["mof_copc"]], dmf[lab["solution"]]) == (1, 1, 2)
    assert {dmf[c] for c in lab["cells"]} == {4}


def test_a_lot_shared_by_many_batches_reaches_them_all(api):
    dmf = receive(api, "DMF", "1 L")["code"]
    batches = [
        made(log(api, SYNTHESIS, [used("solvent", dmf, "10 mL")], {"type": "NH2-MIL-101(Fe)"}))[0]
        for _ in range(30)
    ]
    down = _trace(api, dmf, direction="down")
    assert _depths(down) == {dmf: 0, **dict.fromkeys(batches, 1)}
    assert len(down["edges"]) == 30
    assert remaining(api, dmf) == (pytest.approx(0.7), "L")
    assert _depths(_trace(api, batches[17], direction="up")) == {batches[17]: 0, dmf: 1}


def test_lineage_as_mermaid_and_dot(api, lab):
    cell = lab["cells"][0]
    mermaid = api.get(f"/items/{cell}/lineage", params={"format": "mermaid"})
    assert mermaid.status_code == 200
    assert mermaid.headers["content-type"].startswith("text/vnd.mermaid")
    assert mermaid.text.startswith("flowchart BT")
    for code in (cell, lab["fecl"], lab["dmf"], lab["mof_copc"]):
        assert code in mermaid.text
    assert mermaid.text.count("-->") == len(_trace(api, cell)["edges"])

    dot = api.get(
        f"/items/{lab['fecl']}/lineage", params={"format": "dot", "direction": "down", "kind": "batch"}
    )
    assert dot.status_code == 200
    assert dot.headers["content-type"].startswith("text/vnd.graphviz")
    assert dot.text.startswith("digraph lineage {") and dot.text.rstrip().endswith("}")
    assert f'"{lab["mof"]}" -> "{lab["mof_copc"]}"' in dot.text
    assert all(cell_code not in dot.text for cell_code in lab["cells"])


def test_origin_of_a_cell_names_the_nearest_ancestor_of_each_type(api, lab):
    response = api.get(f"/items/{lab['cells'][0]}/origin")
    assert response.status_code == 200, response.text
    origin = response.json()
    assert origin["root"] == lab["cells"][0]
    groups = {g["type"]: (g["depth"], [i["code"] for i in g["items"]]) for g in origin["origins"]}
    assert groups["MOF@CoPc"] == (3, [lab["mof_copc"]])
    assert groups["FeCl3·6H2O"] == (5, [lab["fecl"]])
    assert groups["DMF"] == (4, [lab["dmf"]])
    assert groups["MOF@CoPc/Li anode"] == (1, [lab["anodes"][0]])
    assert "CR2025 coin cell" not in groups, "the root is not its own origin"
    assert len(groups) == 20
    assert [g["depth"] for g in origin["origins"]] == sorted(g["depth"] for g in origin["origins"])


def test_origin_lists_every_ancestor_at_the_nearest_depth(api):
    first, second = (receive(api, "FeCl3·6H2O", "25 g")["code"] for _ in range(2))
    [mof] = made(
        log(
            api,
            SYNTHESIS,
            [used("iron_source", first, "1 g"), used("iron_source", second, "1 g")],
            {"type": "NH2-MIL-101(Fe)"},
        )
    )
    [group] = api.get(f"/items/{mof}/origin").json()["origins"]
    assert (group["type"], group["depth"], [i["code"] for i in group["items"]]) == (
        "FeCl3·6H2O",
        1,
        [first, second],
    )
    assert api.get(f"/items/{first}/origin").json() == {"root": first, "origins": []}


def test_a_voided_step_drops_out_of_lineage(api, lab):
    second = made(
        log(
            api,
            COATING,
            [used("coating", lab["solution"], "50 µL"), used("substrate", lab["li"], "1 count")],
            {"type": "MOF@CoPc/Li anode"},
        )
    )
    [step] = api.get("/steps", params={"item": second[0]}).json()["items"]
    assert second[0] in _depths(_trace(api, lab["fecl"], direction="down"))
    assert api.post(f"/steps/{step['id']}/void", json={"reason": "disc dropped"}).status_code == 200
    assert second[0] not in _depths(_trace(api, lab["fecl"], direction="down"))
    assert _depths(_trace(api, second[0], direction="up")) == {second[0]: 0}


def test_unknown_items_and_bad_parameters_are_refused(api, lab):
    problem_of(api.get("/items/NOPE-0001/lineage"), 404)
    problem_of(api.get("/items/NOPE-0001/origin"), 404)
    cell = lab["cells"][0]
    assert pointers(problem_of(api.get(f"/items/{cell}/lineage", params={"direction": "sideways"}), 422)) == {
        "query:direction"
    }
    assert pointers(problem_of(api.get(f"/items/{cell}/lineage", params={"max_depth": 0}), 422)) == {
        "query:max_depth"
    }
    assert pointers(problem_of(api.get(f"/items/{cell}/lineage", params={"max_depth": "deep"}), 422)) == {
        "query:max_depth"
    }
    assert pointers(problem_of(api.get(f"/items/{cell}/lineage", params={"kind": "reagent"}), 422)) == {
        "query:kind"
    }
    assert pointers(problem_of(api.get(f"/items/{cell}/lineage", params={"format": "pdf"}), 422)) == {
        "query:format"
    }
    assert pointers(problem_of(api.get(f"/items/{cell}/lineage", params={"include": "edges"}), 422)) == {
        "query:include"
    }


def test_notebook_entries_about_listed_items_come_with_the_lineage(api, lab):
    cell, batch = lab["cells"][0], lab["mof"]
    about = [f"item:{batch}"]
    kept = api.post("/entries", json={"title": "Brown powder", "body": "as expected", "links": about})
    gone = api.post("/entries", json={"title": "Typo", "body": "wrong batch", "links": about})
    assert kept.status_code == gone.status_code == 201, kept.text
    api.post(f"/entries/{gone.json()['id']}/void", json={"reason": "wrong batch"})

    entries = _trace(api, cell, direction="up")["entries"]
    assert list(entries) == [batch]
    [entry] = entries[batch]
    assert (entry["id"], entry["title"], entry["author"]) == (kept.json()["id"], "Brown powder", "sam")
    assert entry["date"] == kept.json()["date"]
    assert _trace(api, cell, direction="up", kind="cell")["entries"] == {}
