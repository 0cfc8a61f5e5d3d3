"""An item's lineage as W3C PROV-JSON: items as entities, steps as activities, protocols as plans,
operators as agents, instruments as entities the steps used, built with the `prov` package so the document
is what PROV tools expect."""

import json
from typing import Any

from prov.constants import PROV, PROV_LABEL, PROV_ROLE, PROV_TYPE, XSD_DATE
from prov.model import Literal, Namespace, ProvDocument

from schemas import ItemOut, Quantity, StepOut
from service.exports.logic import Provenance

# Terms of cellprov's own vocabulary (kinds, statuses, supplier details). A URN, not a web address: the
# vocabulary is not published anywhere one could dereference it, and an http URI would pretend it is.
CELLPROV = Namespace("cellprov", "urn:cellprov:")
_KIND_TYPES = {"lot": CELLPROV["Lot"], "batch": CELLPROV["Batch"], "cell": CELLPROV["Cell"]}


def _quantity_text(quantity: Quantity | None) -> str | None:
    return None if quantity is None else str(quantity)


def _value_text(value: Any) -> str:
    if isinstance(value, Quantity):
        return str(value)
    if isinstance(value, dict) and set(value) == {"value", "unit"}:
        return str(Quantity.model_validate(value))
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _item_attributes(item: ItemOut, depth: int) -> dict[Any, Any]:
    attributes: dict[Any, Any] = {
        PROV_TYPE: _KIND_TYPES[item.kind],
        PROV_LABEL: f"{item.code} ({item.type})",
        CELLPROV["code"]: item.code,
        CELLPROV["kind"]: item.kind.value,
        CELLPROV["itemType"]: item.type,
        CELLPROV["status"]: item.status.value,
        CELLPROV["version"]: item.version,
        CELLPROV["depth"]: depth,
        CELLPROV["createdAt"]: item.created_at,
        CELLPROV["createdBy"]: item.created_by,
    }
    optional: dict[str, Any] = {
        "name": item.name,
        "quantity": _quantity_text(item.quantity),
        "remaining": _quantity_text(item.remaining),
        "supplier": item.supplier,
        "catalogNumber": item.catalog_number,
        "supplierLot": item.supplier_lot,
        "voidReason": item.void_reason,
    }
    attributes.update({CELLPROV[key]: value for key, value in optional.items() if value is not None})
    for key, day in (("receivedOn", item.received_on), ("expiresOn", item.expires_on)):
        if day is not None:
            attributes[CELLPROV[key]] = Literal(day.isoformat(), XSD_DATE)
    if item.properties:
        # Property names are free text (spaces, units, symbols), not valid qualified names: one JSON value.
        attributes[CELLPROV["properties"]] = json.dumps(item.properties, ensure_ascii=False, sort_keys=True)
    return attributes


def _step_attributes(step: StepOut) -> dict[Any, Any]:
    attributes: dict[Any, Any] = {
        PROV_TYPE: CELLPROV["Step"],
        PROV_LABEL: f"step {step.id} ({step.protocol})",
        CELLPROV["protocol"]: step.protocol,
        CELLPROV["status"]: step.status,
        CELLPROV["recordedAt"]: step.created_at,
    }
    if step.parameters:
        attributes[CELLPROV["parameters"]] = json.dumps(
            {name: _value_text(value) for name, value in step.parameters.items()}, ensure_ascii=False
        )
    if step.notes:
        attributes[CELLPROV["notes"]] = step.notes
    if step.void_reason:
        attributes[CELLPROV["voidReason"]] = step.void_reason
    return attributes


def _signatures_by_record(provenance: Provenance) -> dict[str, str]:
    """Each signed record's signatures as one JSON value (signer, meaning, time, hash, still valid)."""
    by_record: dict[str, list[dict[str, Any]]] = {}
    for signature in provenance.signatures:
        by_record.setdefault(signature["record"], []).append(signature)
    return {
        record: json.dumps(sigs, ensure_ascii=False, sort_keys=True) for record, sigs in by_record.items()
    }


def to_prov_document(provenance: Provenance) -> ProvDocument:
    """The PROV document of an export. Only records inside the export are related: a step's inputs or
    outputs that lie outside the traced lineage (the other nine anodes of a coating step) are left out,
    so every relation points at a declared entity, activity or agent."""
    api = provenance.api_url
    document = ProvDocument()
    document.add_namespace(CELLPROV)
    item_ns = document.add_namespace("item", f"{api}/items/")
    step_ns = document.add_namespace("step", f"{api}/steps/")
    user_ns = document.add_namespace("user", f"{api}/users/")
    protocol_ns = document.add_namespace("protocol", f"{api}/templates/")
    instrument_ns = document.add_namespace("instrument", f"{api}/instruments/")

    signed = _signatures_by_record(provenance)
    for item in provenance.items:
        entity = _item_attributes(item, provenance.depths[item.code])
        if f"item:{item.code}" in signed:
            entity[CELLPROV["signatures"]] = signed[f"item:{item.code}"]
        document.entity(item_ns[item.code], entity)
    for person in provenance.people.values():
        document.agent(
            user_ns[person.username],
            {
                PROV_TYPE: PROV["Person"],
                PROV_LABEL: person.full_name,
                CELLPROV["username"]: person.username,
                CELLPROV["role"]: person.role,
            },
        )

    listed = provenance.codes
    plans: set[str] = set()
    instruments: set[str] = set()
    for step in provenance.steps:
        step_attributes = _step_attributes(step)
        if f"step:{step.id}" in signed:
            step_attributes[CELLPROV["signatures"]] = signed[f"step:{step.id}"]
        activity = document.activity(step_ns[str(step.id)], step.started_at, step.ended_at, step_attributes)
        name, _, version = step.protocol.partition("@")
        plan = protocol_ns[f"{name}/versions/{version}"]
        if step.protocol not in plans:
            plans.add(step.protocol)
            document.entity(
                plan,
                {PROV_TYPE: PROV["Plan"], PROV_LABEL: step.protocol, CELLPROV["protocol"]: step.protocol},
            )
        document.wasAssociatedWith(
            activity, user_ns[step.operator], plan, other_attributes={PROV_ROLE: "operator"}
        )

        # The glovebox of an assembly: an entity the step used (not consumed), in its template's role, with
        # its calibration state on the step's day.
        for tool in step.instruments:
            if tool.instrument not in instruments:
                instruments.add(tool.instrument)
                document.entity(
                    instrument_ns[tool.instrument],
                    {
                        PROV_TYPE: CELLPROV["Instrument"],
                        PROV_LABEL: f"{tool.instrument} ({tool.kind})",
                        CELLPROV["code"]: tool.instrument,
                        CELLPROV["instrumentKind"]: tool.kind,
                    },
                )
            document.used(
                activity,
                instrument_ns[tool.instrument],
                other_attributes={PROV_ROLE: tool.role, CELLPROV["calibrationState"]: tool.calibration_state},
            )

        inputs = [given for given in step.inputs if given.item.code in listed]
        outputs = [made for made in step.outputs if made.code in listed]
        for given in inputs:
            attributes: dict[Any, Any] = {PROV_ROLE: given.role}
            if given.amount is not None:
                attributes[CELLPROV["amount"]] = str(given.amount)
            document.used(activity, item_ns[given.item.code], other_attributes=attributes)
        # DMF as solvent and as wash solvent is two usages but one derivation.
        sources = list(dict.fromkeys(given.item.code for given in inputs))
        for made in outputs:
            document.wasGeneratedBy(item_ns[made.code], activity)
            for source in sources:
                document.wasDerivedFrom(item_ns[made.code], item_ns[source], activity)
    return document


def to_prov_json(provenance: Provenance) -> str:
    return str(to_prov_document(provenance).serialize(format="json", indent=2, ensure_ascii=False))
