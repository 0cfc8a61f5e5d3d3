"""The worked example: the reference workflow from reagent lots to CR2025 coin cells, entered via the client.

Every step follows a built-in protocol template (service/templates/library) with no deviation, except one
deliberate exploratory batch at 120 °C, logged with its justification so it shows as deviating. The coin
cells are assembled in the glovebox GB-1 (named by each assembly step, with its calibration), then put on
channels of the Neware cycler NW1, where their test runs find them.

Everything goes through the public API, exactly as a lab member would enter it, so loading the example is
also an end-to-end check of the service. On an empty database it makes the same codes every time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from clients.client import CellprovError, Client
from clients.cycler_model import STUDY_AGEING, lfp_study_cycling
from schemas import DeviationIn, LotIn, Quantity, StepIn, StepInputIn, StepOut, StepOutputIn
from schemas.analyses import AnalysisIn, ArrheniusIn, ArrheniusPoint, ResultIn
from schemas.cycling import TestOptions
from schemas.instruments import CalibrationIn, InstrumentIn, InstrumentKind, LoadIn
from schemas.steps import StepInstrumentIn

ANODE_KINDS = ("MOF@CoPc/Li", "MOF/Li", "bare Li")
CELLS_PER_ANODE_KIND = 2
DISCS_PER_COATING = 4
# A 12 mm cathode disc punched from the cast sheet: pi * (0.6 cm)**2.
CATHODE_DISC_AREA = Quantity(value=1.13, unit="cm**2")


@dataclass
class WorkedExample:
    """The codes of what the worked example made."""

    lots: dict[str, str] = field(default_factory=dict)
    """Lot code by item type name, e.g. {"FeCl3·6H2O": "FECL-0001"}."""
    mof: str = ""
    mof_copc: str = ""
    coating_solutions: dict[str, str] = field(default_factory=dict)
    """Coating solution code by coated material ("MOF@CoPc", "NH2-MIL-101(Fe)")."""
    anodes: dict[str, list[str]] = field(default_factory=dict)
    cathode: str = ""
    cells: dict[str, list[str]] = field(default_factory=dict)
    """CR2025 coin cell codes by anode kind: "MOF@CoPc/Li", "MOF/Li", "bare Li"."""
    steps: list[int] = field(default_factory=list)
    deviating_step: int = 0
    """The one step logged with a deliberate deviation (the hydrothermal synthesis at 120 °C)."""
    exploratory_mof: str = ""
    tests: dict[str, int] = field(default_factory=dict)
    """Test run id by cell code."""
    channels: dict[str, str] = field(default_factory=dict)
    """The cycler channel each cell was put on for its test, by cell code."""
    analyses: list[int] = field(default_factory=list)

    @property
    def fecl3_lot(self) -> str:
        return self.lots["FeCl3·6H2O"]

    @property
    def all_cells(self) -> list[str]:
        return [code for kind in ANODE_KINDS for code in self.cells.get(kind, [])]


def q(value: float, unit: str) -> Quantity:
    return Quantity(value=value, unit=unit)


# (type, quantity, name, supplier, catalogue number, supplier lot, received on, expires on)
LOTS: list[tuple[str, Quantity, str, str, str, str, date, date | None]] = [
    ("FeCl3·6H2O", q(25, "g"), "Iron(III) chloride hexahydrate, ACS reagent, 97 %",
     "Sigma-Aldrich", "236489", "MKCR4471", date(2025, 1, 13), date(2028, 1, 31)),
    ("2-aminoterephthalic acid", q(10, "g"), "2-Aminoterephthalic acid, 99 %",
     "Sigma-Aldrich", "324892", "BCCJ0712", date(2025, 1, 13), date(2028, 6, 30)),
    ("DMF", q(1, "L"), "N,N-Dimethylformamide, anhydrous, 99.8 %",
     "Sigma-Aldrich", "227056", "SHBQ2290", date(2025, 1, 13), date(2026, 12, 31)),
    ("ethanol", q(1, "L"), "Ethanol absolute for analysis EMSURE",
     "Merck", "1.00983.1000", "K55347283", date(2025, 1, 13), date(2029, 3, 31)),
    ("CoPc", q(1, "g"), "Cobalt(II) phthalocyanine, beta-form, 97 %",
     "Sigma-Aldrich", "307696", "MKCN8813", date(2025, 1, 20), None),
    ("THF", q(100, "mL"), "Tetrahydrofuran, anhydrous, >= 99.9 %, inhibitor-free",
     "Sigma-Aldrich", "401757", "SHBP7105", date(2025, 1, 20), date(2026, 1, 31)),
    ("Li foil disc", q(50, "count"), "Lithium chips, 15.6 mm x 0.45 mm, 99.9 %",
     "MTI Corporation", "EQ-Lib-LiC45", "LIC-240918-2", date(2025, 1, 20), date(2026, 1, 20)),
    ("LFP", q(50, "g"), "LiFePO4 powder, carbon coated, D50 ~ 3.5 um",
     "MTI Corporation", "Lib-LFPO-S21", "LFP-2407-118", date(2025, 1, 20), None),
    ("PVDF", q(10, "g"), "PVDF binder (HSV900)",
     "MTI Corporation", "EQ-Lib-PVDF", "PVDF-2406-031", date(2025, 1, 20), None),
    ("carbon black", q(10, "g"), "Super P conductive carbon black",
     "MTI Corporation", "Lib-SuperP", "SP-2405-077", date(2025, 1, 20), None),
    ("NMP", q(100, "mL"), "1-Methyl-2-pyrrolidinone, anhydrous, 99.5 %",
     "Sigma-Aldrich", "328634", "SHBR0146", date(2025, 1, 20), date(2026, 7, 31)),
    ("carbon-coated Al foil", q(10, "count"), "Carbon-coated aluminium foil, 16 um, 280 mm x 200 mm sheets",
     "MTI Corporation", "EQ-CC-Al-18u-260", "CAL-2409-005", date(2025, 1, 20), None),
    ("PP separator", q(100, "count"), "Celgard 2400 monolayer PP separator, 19 mm discs",
     "Celgard", "2400", "C2400-24-1187", date(2025, 1, 20), None),
    ("electrolyte LiTFSI DOL/DME", q(20, "mL"), "1.0 M LiTFSI in DOL:DME 1:1 (v/v) + 2.0 % LiNO3",
     "DodoChem", "DD-LS-LiTFSI-DOLDME-2LN", "DD24111905", date(2025, 1, 27), date(2025, 7, 27)),
    ("CR2025 case", q(50, "count"), "CR2025 coin cell cases with spacers and springs, SS304",
     "MTI Corporation", "EQ-CR2025-CASE", "CR25-2410-44", date(2025, 1, 20), None),
]  # fmt: skip


CYCLER = InstrumentIn(
    code="NW1",
    kind=InstrumentKind.cycler,
    make="Neware",
    model="BTS 4000",
    serial="BTS4000-2219",
    location="Lab 2.14",
    channels=8,
)
GLOVEBOX = InstrumentIn(
    code="GB-1",
    kind=InstrumentKind.glovebox,
    make="MBraun",
    model="UNIlab Pro",
    serial="MB-UL-10432",
    location="Lab 2.14",
)
# Yearly service visits, the first just before the example's week in the lab.
CALIBRATIONS = {
    "NW1": [(date(2025, 1, 15), date(2026, 1, 15)), (date(2026, 1, 12), date(2027, 1, 12))],
    "GB-1": [(date(2025, 1, 10), date(2026, 1, 10)), (date(2026, 1, 8), date(2027, 1, 8))],
}
CALIBRATED_BY = {"NW1": "Neware service", "GB-1": "MBraun service"}
ASSEMBLY = "cr2025-assembly@2"  # the version that names its glovebox


def _instruments(client: Client) -> None:
    """The cycler and the glovebox with their calibrations; a second copy of the example finds them."""
    for instrument in (CYCLER, GLOVEBOX):
        try:
            client.instrument(instrument.code)
            continue
        except CellprovError as exc:
            if exc.status != 404:
                raise
        client.register_instrument(instrument)
        for done, due in CALIBRATIONS[instrument.code]:
            client.record_calibration(
                instrument.code,
                CalibrationIn(calibrated_on=done, due_on=due, by=CALIBRATED_BY[instrument.code]),
            )


def load_worked_example(client: Client) -> WorkedExample:
    """Receive the lots of the reference workflow and log every step from FeCl3·6H2O to coin cells."""
    made = WorkedExample()
    for type_name, quantity, name, supplier, catalog, supplier_lot, received, expires in LOTS:
        lot = client.receive_lot(
            LotIn(
                type=type_name,
                quantity=quantity,
                name=name,
                supplier=supplier,
                catalog_number=catalog,
                supplier_lot=supplier_lot,
                received_on=received,
                expires_on=expires,
            )
        )
        made.lots[type_name] = lot.code
    lots = made.lots
    _instruments(client)
    clock = _LabClock(datetime(2025, 2, 3, 9, 0, tzinfo=UTC))

    def log(protocol: str, hours: float, **body: Any) -> StepOut:
        started, ended = clock.run(hours)
        step = client.log_step(StepIn(protocol=protocol, started_at=started, ended_at=ended, **body))
        made.steps.append(step.id)
        return step

    synthesis = log(
        "nh2-mil-101-fe-hydrothermal@1",
        hours=40,
        parameters={
            "temperature": q(110, "degC"),
            "duration": q(24, "h"),
            "drying_temperature": q(60, "degC"),
            "drying_time": q(12, "h"),
            "centrifuge_speed": q(10000, "rpm"),
        },
        inputs=[
            StepInputIn(role="iron_source", item=lots["FeCl3·6H2O"], amount=q(2.75, "g")),
            StepInputIn(role="linker", item=lots["2-aminoterephthalic acid"], amount=q(1.105, "g")),
            StepInputIn(role="solvent", item=lots["DMF"], amount=q(80, "mL")),
            StepInputIn(role="wash_solvent", item=lots["DMF"], amount=q(60, "mL")),
            StepInputIn(role="wash_solvent", item=lots["ethanol"], amount=q(40, "mL")),
        ],
        outputs=[StepOutputIn(type="NH2-MIL-101(Fe)", quantity=q(0.9, "g"), name="NH2-MIL-101(Fe) batch 1")],
        notes="Solutions A (FeCl3·6H2O in 40 mL DMF) and B (linker in 40 mL DMF) sonicated 15 min each; "
        "B added slowly to A. Washed DMF x3, ethanol x2; ground after drying.",
    )
    made.mof = synthesis.outputs[0].code

    impregnation = log(
        "mof-copc-impregnation@1",
        hours=54,
        parameters={
            "temperature": q(75, "degC"),
            "duration": q(40, "h"),
            "drying_temperature": q(120, "degC"),
            "drying_time": q(12, "h"),
        },
        inputs=[
            StepInputIn(role="mof", item=made.mof, amount=q(60, "mg")),
            StepInputIn(role="copc", item=lots["CoPc"], amount=q(5, "mg")),
            StepInputIn(role="solvent", item=lots["DMF"], amount=q(40, "mL")),
        ],
        outputs=[
            StepOutputIn(
                type="MOF@CoPc",
                quantity=q(62, "mg"),
                name="NH2-MIL-101(Fe)@CoPc batch 1",
                properties={"copc_mass_fraction": {"value": 7.7, "unit": "percent"}},
            )
        ],
    )
    made.mof_copc = impregnation.outputs[0].code

    for material, source in (("MOF@CoPc", made.mof_copc), ("NH2-MIL-101(Fe)", made.mof)):
        solution = log(
            "coating-solution@1",
            hours=4.5,
            parameters={"duration": q(4, "h")},
            inputs=[
                StepInputIn(role="material", item=source, amount=q(60, "mg")),
                StepInputIn(role="solvent", item=lots["THF"], amount=q(1.64, "mL")),
            ],
            outputs=[
                StepOutputIn(type="coating solution", quantity=q(1.64, "mL"), name=f"{material} in THF")
            ],
        )
        made.coating_solutions[material] = solution.outputs[0].code

    for anode_type, material in (("MOF@CoPc/Li anode", "MOF@CoPc"), ("MOF/Li anode", "NH2-MIL-101(Fe)")):
        coating = log(
            "li-drop-coating@1",
            hours=2.5,
            parameters={
                "drop_volume": q(50, "µL"),
                "drying_time": q(2, "h"),
                "atmosphere": "Ar glovebox",
            },
            inputs=[
                StepInputIn(
                    role="coating_solution",
                    item=made.coating_solutions[material],
                    amount=q(50 * DISCS_PER_COATING, "µL"),
                ),
                StepInputIn(
                    role="substrate", item=lots["Li foil disc"], amount=q(DISCS_PER_COATING, "count")
                ),
            ],
            outputs=[StepOutputIn(type=anode_type, count=DISCS_PER_COATING, quantity=q(1, "count"))],
        )
        made.anodes[anode_type.removesuffix(" anode")] = [output.code for output in coating.outputs]

    casting = log(
        "lfp-cathode-casting@1",
        hours=14,
        parameters={
            "drying_temperature": q(120, "degC"),
            "drying_time": q(12, "h"),
        },
        inputs=[
            StepInputIn(role="active_material", item=lots["LFP"], amount=q(0.8, "g")),
            StepInputIn(role="binder", item=lots["PVDF"], amount=q(0.1, "g")),
            StepInputIn(role="conductive_additive", item=lots["carbon black"], amount=q(0.1, "g")),
            StepInputIn(role="solvent", item=lots["NMP"], amount=q(4, "mL")),
            StepInputIn(role="current_collector", item=lots["carbon-coated Al foil"], amount=q(1, "count")),
        ],
        outputs=[
            StepOutputIn(
                type="LFP cathode sheet",
                quantity=q(60, "cm**2"),
                name="LFP 8:1:1 on C-Al, 11 mg/cm2",
                properties={"areal_loading": {"value": 11.05, "unit": "mg/cm**2"}},
            )
        ],
    )
    made.cathode = casting.outputs[0].code

    for anode_kind in ANODE_KINDS:
        made.cells[anode_kind] = []
        for number in range(1, CELLS_PER_ANODE_KIND + 1):
            if anode_kind == "bare Li":
                anode = StepInputIn(role="anode", item=lots["Li foil disc"], amount=q(1, "count"))
            else:
                anode = StepInputIn(
                    role="anode", item=made.anodes[anode_kind][number - 1], amount=q(1, "count")
                )
            assembly = log(
                ASSEMBLY,
                hours=0.5,
                parameters={
                    "o2_ppm": q(0.05, "ppm"),
                    "h2o_ppm": q(0.05, "ppm"),
                    "electrolyte_volume": q(40, "µL"),
                },
                inputs=[
                    anode,
                    StepInputIn(role="cathode", item=made.cathode, amount=CATHODE_DISC_AREA),
                    StepInputIn(role="separator", item=lots["PP separator"], amount=q(1, "count")),
                    StepInputIn(
                        role="electrolyte", item=lots["electrolyte LiTFSI DOL/DME"], amount=q(40, "µL")
                    ),
                    StepInputIn(role="case", item=lots["CR2025 case"], amount=q(1, "count")),
                ],
                outputs=[StepOutputIn(type="CR2025 coin cell", name=f"LFP||{anode_kind} #{number}")],
                instruments=[StepInstrumentIn(role="glovebox", instrument=GLOVEBOX.code)],
            )
            made.cells[anode_kind].append(assembly.outputs[0].code)

    # A deliberate deviation, logged as such: a second MOF batch at 120 °C, outside 110 ± 5 °C.
    exploratory = log(
        "nh2-mil-101-fe-hydrothermal@1",
        hours=40,
        parameters={**synthesis.parameters, "temperature": q(120, "degC")},
        inputs=[
            StepInputIn(role="iron_source", item=lots["FeCl3·6H2O"], amount=q(2750, "mg")),
            StepInputIn(role="linker", item=lots["2-aminoterephthalic acid"], amount=q(1.105, "g")),
            StepInputIn(role="solvent", item=lots["DMF"], amount=q(80, "mL")),
            StepInputIn(role="wash_solvent", item=lots["DMF"], amount=q(60, "mL")),
            StepInputIn(role="wash_solvent", item=lots["ethanol"], amount=q(40, "mL")),
        ],
        outputs=[
            StepOutputIn(type="NH2-MIL-101(Fe)", quantity=q(0.85, "g"), name="NH2-MIL-101(Fe) at 120 °C")
        ],
        deviations=[
            DeviationIn(
                field="/parameters/temperature",
                justification="Exploratory batch: does 120 °C give larger, more crystalline particles (XRD)?",
            )
        ],
    )
    made.deviating_step = exploratory.id
    made.exploratory_mof = exploratory.outputs[0].code

    _test_and_analyse(client, made, clock)
    return made


# The example's cells age as the study's do (cycler_model.STUDY_AGEING): two formation cycles at 0.1C, then
# 1C; MOF@CoPc/Li keeps > 90 % after 350 cycles, MOF/Li less, bare Li fades and fails before cycle 200.
EXAMPLE_CYCLES = 350
FORMATION_CYCLES = 2


def _on_channel(client: Client, channel: str, cell: str, at: datetime) -> bool:
    """Put the cell on the channel for its test. A second copy of the example finds the channels holding the
    first copy's cells: its cells then run on no recorded channel rather than pushing those off."""
    try:
        client.load_channel(channel, LoadIn(cell=cell, protocol="lfp-li-cycling@1", at=at))
    except CellprovError as exc:
        if exc.status in (409, 422):
            return False
        raise
    return True


def _test_and_analyse(client: Client, made: WorkedExample, clock: _LabClock) -> None:
    """Put every cell on a channel of NW1 and cycle it there (files generated from an ageing model, see
    cycler_model; each run finds its channel from the load history), and characterise the anodes."""
    active_mass = Quantity(value=round(11.05 * CATHODE_DISC_AREA.value, 2), unit="mg")
    for anode_kind in ANODE_KINDS:
        for number, cell in enumerate(made.cells[anode_kind], start=1):
            loaded_at, began = clock.run(0.1)
            channel = f"{CYCLER.code}-{len(made.channels) + 1}"
            if _on_channel(client, channel, cell, loaded_at):
                made.channels[cell] = channel
            content = lfp_study_cycling(
                STUDY_AGEING[anode_kind],
                cycles=EXAMPLE_CYCLES,
                active_mass_mg=active_mass.value,
                specific_capacity_1c=150.4 - 0.6 * number,  # two cells of a kind are never identical
                formation_cycles=FORMATION_CYCLES,
            )
            run = client.upload_test(
                cell,
                f"{cell}_lfp_1C.csv",
                content,
                "lfp-li-cycling@1",
                TestOptions(active_mass=active_mass, formation_cycles=FORMATION_CYCLES, started_at=began),
            )
            made.tests[cell] = run.id
    coated = made.anodes["MOF@CoPc/Li"][-1]
    bare = made.lots["Li foil disc"]
    for subject, lif in ((coated, 41.7), (bare, 30.2)):
        xps = client.add_analysis(
            AnalysisIn(
                technique="XPS",
                subjects=[subject],
                instrument="Thermo Scientific K-Alpha",
                title="SEI composition after 10 cycles (F 1s)",
                results=[ResultIn(name="LiF fraction", value=lif, unit="%")],
            )
        )
        made.analyses.append(xps.id)
    # Rct(T) of MOF@CoPc/Li made from Ea = 44.29 kJ/mol, so the calculator's answer can be checked.
    points = [
        ArrheniusPoint(
            temperature=q(t, "degC"),
            rct=q(round(1 / (1.5e6 * math.exp(-44290 / (8.314462618 * (t + 273.15)))), 4), "ohm"),
        )
        for t in (0, 10, 20, 30, 40)
    ]
    ea = client.calculate(
        "arrhenius", ArrheniusIn(subjects=[coated], points=points, instrument="EIS, 1 MHz-0.1 Hz")
    )
    made.analyses.append(ea.id)


class _LabClock:
    """Hands out start and end times one after the other, so the example reads like a real week
    in the lab and stays the same on every load."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def run(self, hours: float) -> tuple[datetime, datetime]:
        started = self.now
        ended = started + timedelta(hours=hours)
        self.now = ended + timedelta(hours=1)
        return started, ended
