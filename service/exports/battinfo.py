"""A cell described in BattINFO's vocabulary (the EMMO battery domain ontology) as JSON-LD, from its lineage.

The shape follows BattINFO's coin-cell reference (BIG-MAP/BattINFO,
tests/fixtures/converter/coincell_reference_v3.jsonld): the cell's type and case format, its positive and
negative electrodes (coating, active material with its mass loading, binder, conductive additive, current
collector), electrolyte with its constituents and volume, separator, the case's parts, and how it was
assembled. Everything comes from the upstream lineage: the assembly step's inputs (by role) and amounts, the
steps that made those inputs (a cast cathode sheet's recipe and areal loading, a coated Li disc's coating),
the lots' suppliers and catalogue numbers. Each component names the item it came from (`prov:wasDerivedFrom`),
so the description can be checked against the records.

The JSON-LD context is embedded: it is the part of BattINFO's context that the document uses, shipped with
cellprov (battinfo-context.json), so neither the export nor its reader needs the network.
"""

import json
from functools import cache
from pathlib import Path
from typing import Any

import pint

from labrules.units import convert, dimension
from schemas import ItemKind, ItemOut, Quantity, StepOut
from service.errors import Invalid, problem
from service.exports.logic import Provenance

MEDIA_TYPE = "application/ld+json"
CONTEXT_FILE = Path(__file__).with_name("battinfo-context.json")

# cellprov's unit texts -> QUDT units, as BattINFO's coin-cell reference writes them.
QUDT_UNITS = {
    "mg/cm**2": "unit:MilliGM-PER-CentiM2",
    "g": "unit:GM",
    "mg": "unit:MilliGM",
    "cm**2": "unit:CentiM2",
    "mm**2": "unit:MilliM2",
    "µL": "unit:MicroL",
    "uL": "unit:MicroL",
    "mL": "unit:MilliL",
    "percent": "unit:PERCENT",
    "%": "unit:PERCENT",
    "ppm": "unit:PPM",
    "degC": "unit:DEG_C",
    "h": "unit:HR",
    "min": "unit:MIN",
    "mol/L": "unit:MOL-PER-L",
    "mm": "unit:MilliM",
    "µm": "unit:MicroM",
    "um": "unit:MicroM",
}

# BattINFO classes of the built-in item types (labrules/builtin_types.yaml).
ACTIVE_MATERIALS = {"LFP": "LithiumIronPhosphate", "NCM811": "LithiumNickelManganeseCobaltOxide"}
ELECTRODE_CLASSES = {
    "LithiumIronPhosphate": "LithiumIronPhosphateElectrode",
    "LithiumNickelManganeseCobaltOxide": "LithiumNickelManganeseCobaltOxideElectrode",
}
SUBSTANCES = {
    "PVDF": "PolyvinylideneFluoride",
    "carbon black": "CarbonBlack",
    "carbon-coated Al foil": "Aluminium",
    "Cu foil": "Copper",
    "Li foil disc": "Lithium",
    "PP separator": "Polypropylene",
    "NMP": "NMethyl2Pyrrolidone",
}
LITHIUM_ANODES = {"Li foil disc", "MOF@CoPc/Li anode", "MOF/Li anode"}
COPPER_ELECTRODES = {"Cu foil", "MOF@CoPc/Cu"}
# (constituent class, quantity class, value, unit) of the built-in electrolytes, as their types describe them.
ELECTROLYTES: dict[str, list[tuple[str, str, float, str]]] = {
    "electrolyte LiTFSI DOL/DME": [
        ("LithiumBistrifluoromethanesulfonylimide", "AmountConcentration", 1.0, "mol/L"),
        ("Dioxolane", "VolumeFraction", 50, "percent"),
        ("Dimethoxyethane", "VolumeFraction", 50, "percent"),
        ("LithiumNitrate", "MassFraction", 2.0, "percent"),
    ],
    "electrolyte LiPF6 EC/DEC": [
        ("LithiumHexafluorophosphate", "AmountConcentration", 1.0, "mol/L"),
        ("DiethylCarbonate", "VolumeFraction", 50, "percent"),
    ],
}
POSITIVE_ROLES = ("cathode", "positive_electrode", "working_electrode")
NEGATIVE_ROLES = ("anode", "negative_electrode", "counter_electrode")


@cache
def context() -> dict[str, Any]:
    """The embedded JSON-LD context (BattINFO's terms and IRIs, the part this document uses)."""
    context: dict[str, Any] = json.loads(CONTEXT_FILE.read_text(encoding="utf-8"))["@context"]
    return context


class NotACell(Invalid):
    """BattINFO describes a battery cell; a lot or a batch has no electrodes to describe."""

    def __init__(self, item: ItemOut):
        why = f"BattINFO describes a cell; {item.code} is a {item.kind.value} ({item.type}), not a cell"
        super().__init__(
            why,
            [
                problem(
                    "path:code", why, expected="the code of a cell (e.g. a CR2025 coin cell)", got=item.code
                )
            ],
        )


def quantity(kind: str, value: float, unit: str) -> dict[str, Any]:
    """An EMMO quantity: its class, its number, its unit (QUDT where known; the lab's unit text always)."""
    node: dict[str, Any] = {
        "@type": kind,
        "hasNumericalPart": {"@type": "RealData", "hasNumberValue": value},
        "schema:unitText": unit,
    }
    if unit in QUDT_UNITS:
        node["hasMeasurementUnit"] = QUDT_UNITS[unit]
    return node


def _amount(q: Quantity | None) -> dict[str, Any] | None:
    """An input's amount as a quantity of the kind its unit measures (area, volume, mass), else none."""
    if q is None:
        return None
    try:
        measured = dimension(q.unit)
    except (pint.errors.PintError, ValueError, AttributeError):
        return None
    kinds = {"[length] ** 2": "Area", "[length] ** 3": "Volume", "[mass]": "Mass"}
    return quantity(kinds[measured], q.value, q.unit) if measured in kinds else None


class _Lineage:
    """The gathered lineage, indexed: items by code, the step that made each item."""

    def __init__(self, provenance: Provenance):
        self.provenance = provenance
        self.items = {item.code: item for item in provenance.items}
        self.made_by: dict[str, StepOut] = {
            ref.code: step for step in provenance.steps for ref in step.outputs
        }

    def url(self, code: str) -> str:
        return f"{self.provenance.api_url}/items/{code}"

    def item(self, code: str) -> ItemOut | None:
        return self.items.get(code)

    def source(self, code: str) -> dict[str, Any]:
        """What a component came from: the item's identifier, name, supplier and catalogue number."""
        item = self.items.get(code)
        node: dict[str, Any] = {"prov:wasDerivedFrom": {"@id": self.url(code)}}
        if item is None:
            return node
        node["schema:name"] = item.name or item.type
        if item.supplier:
            node["schema:manufacturer"] = {"@type": "schema:Organization", "schema:name": item.supplier}
        if item.catalog_number:
            node["schema:productID"] = item.catalog_number
        return node


def _fractions(step: StepOut, roles: tuple[str, ...]) -> dict[str, float]:
    """Each role's share (%) of the solids by mass, from the step's input amounts; {} where they are not
    all masses."""
    grams: dict[str, float] = {}
    for put in step.inputs:
        if put.role in roles and put.amount is not None:
            try:
                grams[put.role] = grams.get(put.role, 0.0) + convert(put.amount, "g")
            except (pint.errors.PintError, ValueError):
                return {}
    total = sum(grams.values())
    return {role: round(100 * mass / total, 4) for role, mass in grams.items()} if total > 0 else {}


def _cast_coating(lineage: _Lineage, sheet: ItemOut, made: StepOut) -> tuple[dict[str, Any], list[str]]:
    """The coating of a cast electrode sheet, from its casting step; and the electrode classes it implies."""
    solids = ("active_material", "binder", "conductive_additive")
    shares = _fractions(made, solids)
    coating: dict[str, Any] = {"@type": "ElectrodeCoating"}
    classes: list[str] = []
    for put in made.inputs:
        material = lineage.item(put.item.code)
        type_name = material.type if material else put.item.type
        if put.role == "active_material":
            active = ACTIVE_MATERIALS.get(type_name)
            node = {"@type": [active] if active else ["ActiveMaterial"], **lineage.source(put.item.code)}
            measured = []
            if "active_material" in shares:
                measured.append(quantity("MassFraction", shares["active_material"], "percent"))
            loading = sheet.properties.get("areal_loading")
            if isinstance(loading, dict) and "value" in loading:
                measured.append(quantity("MassLoading", loading["value"], loading.get("unit", "mg/cm**2")))
            if measured:
                node["hasMeasuredProperty"] = measured
            coating["hasActiveMaterial"] = node
            if active in ELECTRODE_CLASSES:
                classes.append(ELECTRODE_CLASSES[active])
        elif put.role in ("binder", "conductive_additive"):
            kind = "Binder" if put.role == "binder" else "ConductiveAdditive"
            substance = SUBSTANCES.get(type_name)
            node = {"@type": [kind, substance] if substance else [kind], **lineage.source(put.item.code)}
            if put.role in shares:
                node["hasMeasuredProperty"] = quantity("MassFraction", shares[put.role], "percent")
            coating["hasBinder" if put.role == "binder" else "hasConductiveAdditive"] = node
    return coating, classes


def _electrode(lineage: _Lineage, code: str, amount: Quantity | None) -> dict[str, Any]:
    """One electrode as the assembly took it: from a cast sheet, a (coated) Li disc, or a Cu foil."""
    item = lineage.item(code)
    type_name = item.type if item else ""
    node: dict[str, Any] = {"@type": ["Electrode"], **lineage.source(code)}
    made = lineage.made_by.get(code)
    if type_name in LITHIUM_ANODES:
        node["@type"].append("LithiumElectrode")
        node["hasActiveMaterial"] = {"@type": "Lithium"}
    elif type_name in COPPER_ELECTRODES:
        node["@type"].append("CopperElectrode")
    if made is not None and item is not None:
        roles = {put.role for put in made.inputs}
        if "active_material" in roles:
            coating, classes = _cast_coating(lineage, item, made)
            node["@type"] += classes
            node["hasCoating"] = coating
            collector = next((p for p in made.inputs if p.role == "current_collector"), None)
            if collector is not None:
                metal = SUBSTANCES.get(collector.item.type)
                node["hasCurrentCollector"] = {
                    "@type": ["CurrentCollector", metal] if metal else ["CurrentCollector"],
                    **lineage.source(collector.item.code),
                }
        elif "coating_solution" in roles:
            # A Li disc (or Cu foil) drop-coated with a MOF layer: the layer is the electrode's coating.
            solution = next(p for p in made.inputs if p.role == "coating_solution")
            node["hasCoating"] = {
                "@type": "Coating",
                **lineage.source(solution.item.code),
                "rdfs:comment": f"drop-coated by step {made.id} ({made.protocol})",
            }
    measured = _amount(amount)
    if measured is not None:
        node["hasMeasuredProperty"] = measured
    return node


def _electrolyte(lineage: _Lineage, code: str, amount: Quantity | None) -> dict[str, Any]:
    item = lineage.item(code)
    type_name = item.type if item else ""
    node: dict[str, Any] = {"@type": ["LiquidElectrolyte"], **lineage.source(code)}
    recipe = ELECTROLYTES.get(type_name)
    if recipe:
        node["hasConstituent"] = [
            {"@type": constituent, "hasMeasuredProperty": quantity(kind, value, unit)}
            for constituent, kind, value, unit in recipe
        ]
    measured = _amount(amount)
    if measured is not None:
        node["hasMeasuredProperty"] = measured
    return node


def _separator(lineage: _Lineage, code: str, amount: Quantity | None) -> dict[str, Any]:
    item = lineage.item(code)
    substance = SUBSTANCES.get(item.type if item else "")
    node: dict[str, Any] = {"@type": ["Separator", substance] if substance else ["Separator"]}
    node.update(lineage.source(code))
    if amount is not None and amount.unit == "count" and amount.value != 1:
        node["rdfs:comment"] = f"{amount.value:g} layers"
    return node


def _case(lineage: _Lineage, code: str, cell: ItemOut) -> dict[str, Any]:
    item = lineage.item(code)
    text = f"{cell.type} {item.type if item else ''}".upper()
    fmt = "R2025" if "2025" in text else "R2032" if "2032" in text else None
    coin = "COIN" in text or fmt is not None
    pouch = "POUCH" in text
    kinds = [fmt] if fmt else ["CoinCase"] if coin else ["PouchCase"] if pouch else ["Case"]
    node: dict[str, Any] = {"@type": kinds, **lineage.source(code)}
    if coin:
        node["hasComponent"] = [{"@type": "CellCan"}, {"@type": "CellLid"}]
    return node


def _assembly(lineage: _Lineage, step: StepOut) -> dict[str, Any]:
    """How the cell was assembled: the step, who did it when, under which parameters, in which instrument."""
    person = lineage.provenance.people.get(step.operator)
    node: dict[str, Any] = {
        "@id": f"{lineage.provenance.api_url}/steps/{step.id}",
        "@type": "Assemblying",
        "schema:name": step.protocol,
        "schema:agent": {
            "@type": "schema:Person",
            "schema:identifier": step.operator,
            "schema:name": person.full_name if person else step.operator,
        },
        "hasInput": [{"@id": lineage.url(put.item.code)} for put in step.inputs],
    }
    if step.started_at:
        node["schema:startTime"] = step.started_at.isoformat()
    if step.ended_at:
        node["schema:endTime"] = step.ended_at.isoformat()
    properties = []
    for name, value in step.parameters.items():
        prop: dict[str, Any] = {"@type": "schema:PropertyValue", "schema:name": name}
        if isinstance(value, Quantity):
            prop["schema:value"] = value.value
            prop["schema:unitText"] = value.unit
        else:
            prop["schema:value"] = value
        properties.append(prop)
    if properties:
        node["schema:additionalProperty"] = properties
    if step.instruments:
        node["schema:instrument"] = [
            {"@type": "schema:Thing", "schema:identifier": i.instrument, "schema:description": i.kind}
            for i in step.instruments
        ]
    return node


def battinfo_document(provenance: Provenance) -> dict[str, Any]:
    """The root cell of an upstream lineage as a BattINFO JSON-LD document; NotACell for anything else."""
    lineage = _Lineage(provenance)
    cell = lineage.items[provenance.root]
    if cell.kind != ItemKind.cell:
        raise NotACell(cell)
    kinds = ["PouchCell"] if "pouch" in cell.type.lower() else ["CoinCell"]
    document: dict[str, Any] = {
        "@context": context(),
        "@id": lineage.url(cell.code),
        "@type": kinds,
        "schema:identifier": cell.code,
        "schema:name": cell.name or cell.code,
        "schema:additionalType": cell.type,
        "schema:dateCreated": cell.created_at.date().isoformat(),
    }
    comments = [
        f"Exported by cellprov from the lineage of {cell.code} ({provenance.exported_at.isoformat()})"
    ]
    assembly = lineage.made_by.get(cell.code)
    if assembly is not None:
        creator = provenance.people.get(assembly.operator)
        document["schema:creator"] = {
            "@type": "schema:Person",
            "schema:identifier": assembly.operator,
            "schema:name": creator.full_name if creator else assembly.operator,
        }
        sequence: list[str] = []
        for put in assembly.inputs:
            if put.role in POSITIVE_ROLES:
                document["hasPositiveElectrode"] = _electrode(lineage, put.item.code, put.amount)
                sequence.append("PositiveElectrode")
            elif put.role in NEGATIVE_ROLES:
                document["hasNegativeElectrode"] = _electrode(lineage, put.item.code, put.amount)
                sequence.append("NegativeElectrode")
            elif put.role == "separator":
                document["hasSeparator"] = _separator(lineage, put.item.code, put.amount)
                sequence.append("Separator")
            elif put.role == "electrolyte":
                document["hasElectrolyte"] = _electrolyte(lineage, put.item.code, put.amount)
                volume = f"{put.amount.value:g} {put.amount.unit} " if put.amount else ""
                sequence.append(f"{volume}Electrolyte")
            elif put.role in ("case", "pouch"):
                document["hasCase"] = _case(lineage, put.item.code, cell)
                if "hasComponent" in document["hasCase"]:
                    document["hasComponent"] = [{"@type": "Spacer"}, {"@type": "Spring"}]
                sequence.append("Case")
        document["@reverse"] = {"hasManufacturedOutput": _assembly(lineage, assembly)}
        comments.append(
            f"Assembled by step {assembly.id} ({assembly.protocol}), operator {assembly.operator}"
        )
        comments.append(f"Cell assembly inputs in the order recorded: {', '.join(sequence)}")
    else:
        comments.append(f"No assembly step of {cell.code} is recorded: its components are unknown")
    document["rdfs:comment"] = comments
    return document


def to_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")
