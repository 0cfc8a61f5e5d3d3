"""A deterministic, lab-shaped history of S cells as import operations (see bench/README.md for the shape).

Per 10 cells: one NH2-MIL-101(Fe) batch from 4 reagent lots; 2 MOF@CoPc batches from it; each dispersed
into a coating solution and drop-coated onto 5 Li discs (5 anodes); one CR2025 cell per anode, with an
electrolyte lot and a disc cut from a cathode sheet (one sheet per 50 cells). Every step follows its
built-in template to the letter, so the import goes through the same checks as a lab member's request.
Each cell gets one test run (LFP||Li cycling, from one small generated cycler file uploaded once) and two
analyses (EIS and a post-mortem SEM), so the history holds the test runs and analyses a lab's does.
Codes are given explicitly (PREFIX-000001), so later operations can name what earlier ones made.
"""

import hashlib
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from clients.cycler_model import lfp_cycling

SEED = 20250203
LOTS_PER_KIND = 20
CELLS_PER_MOF = 10
COMPOSITES_PER_MOF = 2
ANODES_PER_COMPOSITE = 5
CELLS_PER_SHEET = 50
DISC_AREA = 1.13  # cm², a 12 mm disc cut from the sheet
TEST_PROTOCOL = "lfp-li-cycling@1"
TEST_CYCLES = 10  # per test run: the per-cycle rows grow with the history, ten per cell

# The 8 reagent kinds, then the 7 the templates also require (separator, case, cathode materials).
# (type, code prefix, amount per use, unit)
REAGENTS = {
    "FeCl3·6H2O": ("FECL", 2.75, "g"),
    "2-aminoterephthalic acid": ("ATA", 1.105, "g"),
    "DMF": ("DMF", 80.0, "mL"),
    "ethanol": ("ETOH", 40.0, "mL"),
    "CoPc": ("COPC", 5.0, "mg"),
    "THF": ("THF", 1.64, "mL"),
    "Li foil disc": ("LI", float(ANODES_PER_COMPOSITE), "count"),
    "electrolyte LiTFSI DOL/DME": ("ELT", 40.0, "µL"),
    "PP separator": ("SEP", 1.0, "count"),
    "CR2025 case": ("CASE", 1.0, "count"),
    "LFP": ("LFP", 0.8, "g"),
    "PVDF": ("PVDF", 0.1, "g"),
    "carbon black": ("CB", 0.1, "g"),
    "NMP": ("NMP", 4.0, "mL"),
    "carbon-coated Al foil": ("CAL", 1.0, "count"),
}
# The impregnation's DMF (40 mL) is drawn from the same DMF lots as the synthesis's (80 mL).
IMPREGNATION_DMF = 40.0

MOF_PARAMETERS = {
    "temperature": "110 degC",
    "duration": "24 h",
    "drying_temperature": "60 degC",
    "drying_time": "12 h",
    "centrifuge_speed": "10000 rpm",
}
IMPREGNATION_PARAMETERS = {
    "temperature": "75 degC",
    "duration": "40 h",
    "drying_temperature": "120 degC",
    "drying_time": "12 h",
}
COATING_PARAMETERS = {"drop_volume": "50 µL", "drying_time": "2 h", "atmosphere": "Ar glovebox"}
ASSEMBLY_PARAMETERS = {"o2_ppm": "0.05 ppm", "h2o_ppm": "0.05 ppm", "electrolyte_volume": "40 µL"}


def code(prefix: str, number: int) -> str:
    return f"{prefix}-{number:06d}"


def cell_code(number: int) -> str:
    return code("CC", number)


def lot_code(type_name: str, number: int) -> str:
    return code(REAGENTS[type_name][0], number)


@dataclass
class Shape:
    """What a history of `cells` cells holds: the counts the benchmarks report next to their figures."""

    cells: int
    lots: int = 0
    steps: int = 0
    items: Counter[str] = field(default_factory=Counter)
    links: int = 0
    test_runs: int = 0
    analyses: int = 0

    @property
    def items_total(self) -> int:
        return self.lots + sum(self.items.values())

    def as_dict(self) -> dict[str, Any]:
        # A test run or an analysis is a node linked to the item it describes (one subject each here).
        attached = self.test_runs + self.analyses
        return {
            "cells": self.cells,
            "lots": self.lots,
            "steps": self.steps,
            "items": self.items_total,
            "items_by_type": dict(self.items),
            "test_runs": self.test_runs,
            "analyses": self.analyses,
            "nodes": self.items_total + attached,
            "links": self.links + attached,
            "item_links": self.links,
            "issue_shape": {"nodes": 160 + 5.32 * self.cells, "links": 10 * self.cells},
        }


@cache
def cycler_file() -> bytes:
    """The cycler file every generated test run names (a CSV of TEST_CYCLES LFP||Li cycles)."""
    return lfp_cycling(cycles=TEST_CYCLES)


def cycler_file_sha256() -> str:
    return hashlib.sha256(cycler_file()).hexdigest()


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2020, 1, 6, 8, 0, tzinfo=UTC)

    def run(self, hours: float) -> dict[str, str]:
        started, self.now = self.now, self.now + timedelta(hours=hours)
        return {"started_at": started.isoformat(), "ended_at": self.now.isoformat()}


def _use(role: str, item: str, amount: str) -> dict[str, Any]:
    return {"role": role, "item": item, "amount": amount}


def _step(protocol: str, times: dict[str, str], parameters: dict, inputs: list, outputs: list) -> dict:
    return {
        "op": "log_step",
        "step": {
            "protocol": protocol,
            **times,
            "parameters": parameters,
            "inputs": inputs,
            "outputs": outputs,
        },
    }


def generate(cells: int, seed: int = SEED) -> tuple[Shape, list[dict[str, Any]]]:
    """The operations of a history with `cells` cells (rounded up to a multiple of 10), lots first."""
    cells = math.ceil(cells / CELLS_PER_MOF) * CELLS_PER_MOF
    rng = random.Random(seed)
    shape = Shape(cells=cells)
    clock = _Clock()
    # (type, lot number) -> amount taken, in the lot's unit
    used: dict[tuple[str, int], float] = defaultdict(float)
    numbers: Counter[str] = Counter()

    def lot(type_name: str, amount: float | None = None) -> str:
        number = rng.randint(1, LOTS_PER_KIND)
        used[(type_name, number)] += REAGENTS[type_name][1] if amount is None else amount
        return lot_code(type_name, number)

    def amount(type_name: str) -> str:
        _, value, unit = REAGENTS[type_name]
        return f"{value:g} {unit}"

    def new(prefix: str, type_name: str) -> str:
        numbers[prefix] += 1
        shape.items[type_name] += 1
        return code(prefix, numbers[prefix])

    steps: list[dict[str, Any]] = []
    sha256 = cycler_file_sha256()

    def log(step: dict[str, Any]) -> None:
        body = step["step"]
        shape.steps += 1
        shape.links += len(body["inputs"]) * len(body["outputs"])
        steps.append(step)

    sheet = ""
    sheet_left = 0
    for _ in range(cells // CELLS_PER_MOF):
        mof = new("MOF", "NH2-MIL-101(Fe)")
        log(
            _step(
                "nh2-mil-101-fe-hydrothermal@1",
                clock.run(40),
                MOF_PARAMETERS,
                [
                    _use("iron_source", lot("FeCl3·6H2O"), amount("FeCl3·6H2O")),
                    _use("linker", lot("2-aminoterephthalic acid"), amount("2-aminoterephthalic acid")),
                    _use("solvent", lot("DMF"), amount("DMF")),
                    _use("wash_solvent", lot("ethanol"), amount("ethanol")),
                ],
                [{"type": "NH2-MIL-101(Fe)", "code": mof, "quantity": "0.9 g"}],
            )
        )
        for _ in range(COMPOSITES_PER_MOF):
            composite = new("MCP", "MOF@CoPc")
            log(
                _step(
                    "mof-copc-impregnation@1",
                    clock.run(54),
                    IMPREGNATION_PARAMETERS,
                    [
                        _use("mof", mof, "60 mg"),
                        _use("copc", lot("CoPc"), amount("CoPc")),
                        _use("solvent", lot("DMF", IMPREGNATION_DMF), f"{IMPREGNATION_DMF:g} mL"),
                    ],
                    [{"type": "MOF@CoPc", "code": composite, "quantity": "62 mg"}],
                )
            )
            solution = new("SOL", "coating solution")
            log(
                _step(
                    "coating-solution@1",
                    clock.run(4.5),
                    {"duration": "4 h"},
                    [_use("material", composite, "60 mg"), _use("solvent", lot("THF"), amount("THF"))],
                    [{"type": "coating solution", "code": solution, "quantity": "1.64 mL"}],
                )
            )
            anodes = [new("ACL", "MOF@CoPc/Li anode") for _ in range(ANODES_PER_COMPOSITE)]
            log(
                _step(
                    "li-drop-coating@1",
                    clock.run(2.5),
                    COATING_PARAMETERS,
                    [
                        _use("coating_solution", solution, f"{50 * ANODES_PER_COMPOSITE} µL"),
                        _use("substrate", lot("Li foil disc"), amount("Li foil disc")),
                    ],
                    [{"type": "MOF@CoPc/Li anode", "code": anode, "quantity": "1 count"} for anode in anodes],
                )
            )
            for anode in anodes:
                if sheet_left == 0:
                    sheet = new("CAT", "LFP cathode sheet")
                    sheet_left = CELLS_PER_SHEET
                    log(
                        _step(
                            "lfp-cathode-casting@1",
                            clock.run(14),
                            {"drying_temperature": "120 degC", "drying_time": "12 h"},
                            [
                                _use("active_material", lot("LFP"), amount("LFP")),
                                _use("binder", lot("PVDF"), amount("PVDF")),
                                _use("conductive_additive", lot("carbon black"), amount("carbon black")),
                                _use("solvent", lot("NMP"), amount("NMP")),
                                _use("current_collector", lot("carbon-coated Al foil"), "1 count"),
                            ],
                            [
                                {
                                    "type": "LFP cathode sheet",
                                    "code": sheet,
                                    "quantity": f"{math.ceil(CELLS_PER_SHEET * DISC_AREA) + 2} cm**2",
                                    "properties": {"areal_loading": {"value": 11.05, "unit": "mg/cm**2"}},
                                }
                            ],
                        )
                    )
                sheet_left -= 1
                log(
                    _step(
                        "cr2025-assembly@1",
                        clock.run(0.5),
                        ASSEMBLY_PARAMETERS,
                        [
                            _use("anode", anode, "1 count"),
                            _use("cathode", sheet, f"{DISC_AREA:g} cm**2"),
                            _use("separator", lot("PP separator"), "1 count"),
                            _use("electrolyte", lot("electrolyte LiTFSI DOL/DME"), "40 µL"),
                            _use("case", lot("CR2025 case"), "1 count"),
                        ],
                        [{"type": "CR2025 coin cell", "code": (cell := new("CC", "CR2025 coin cell"))}],
                    )
                )
                steps += _characterise(cell, sha256, clock, rng)
                shape.test_runs += 1
                shape.analyses += 2

    # Lots hold what the history takes from them and a margin, so none runs out (or is used up exactly).
    receipts = []
    for type_name, (_prefix, per_use, unit) in REAGENTS.items():
        for number in range(1, LOTS_PER_KIND + 1):
            quantity = math.ceil(used[(type_name, number)] * 1.1 + 10 * per_use)
            receipts.append(
                {
                    "op": "receive_lot",
                    "lot": {
                        "type": type_name,
                        "code": lot_code(type_name, number),
                        "quantity": f"{quantity} {unit}",
                        "supplier": "Bench Supplies",
                        "supplier_lot": f"BS-{number:04d}",
                        "received_on": "2020-01-02",
                    },
                }
            )
    shape.lots = len(receipts)
    return shape, receipts + steps


def _characterise(cell: str, sha256: str, clock: _Clock, rng: random.Random) -> list[dict[str, Any]]:
    """A cell's cycling test, its impedance before cycling and an SEM of its anode after."""

    def analysis(technique: str, title: str, result: str, value: float, unit: str) -> dict[str, Any]:
        body = {
            "technique": technique,
            "subjects": [cell],
            "performed_at": clock.run(1)["ended_at"],
            "title": title,
            "results": [{"name": result, "value": round(value, 1), "unit": unit}],
        }
        return {"op": "record_analysis", "analysis": body}

    return [
        {"op": "record_test", "test": {"cell": cell, "protocol": TEST_PROTOCOL, "file": sha256}},
        analysis("EIS", "impedance before cycling", "R_ct", rng.uniform(60, 140), "ohm"),
        analysis("SEM", "post-mortem anode cross-section", "SEI thickness", rng.uniform(40, 60), "nm"),
    ]


def batches(operations: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(operations), size):
        yield operations[start : start + size]
