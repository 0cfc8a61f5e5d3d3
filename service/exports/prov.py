"""An item's lineage as W3C PROV-JSON: items as entities, steps as activities, protocols as plans,
operators as agents, instruments as entities the steps used, built with the `prov` package so the document
is what PROV tools expect."""

import json
from typing import Any

from prov.constants import PROV, PROV_LABEL, PROV_ROLE, PROV_TYPE, XSD_DATE
from prov.model import Literal, Namespace, ProvDocument

from schemas import ItemOut, Quantity, StepOut
from service.exports.logic import Provenance
from service.exports.parts import cycles_csv, digest, metrics_csv

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

    names = {
        "item": item_ns,
        "step": step_ns,
        "user": user_ns,
        "protocol": protocol_ns,
        "test": document.add_namespace("test", f"{api}/tests/"),
        "analysis": document.add_namespace("analysis", f"{api}/analyses/"),
        "entry": document.add_namespace("entry", f"{api}/entries/"),
        "file": document.add_namespace("file", f"{api}/files/"),
    }
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
    instruments: set[str] = set()
    for step in provenance.steps:
        step_attributes = _step_attributes(step)
        if f"step:{step.id}" in signed:
            step_attributes[CELLPROV["signatures"]] = signed[f"step:{step.id}"]
        activity = document.activity(step_ns[str(step.id)], step.started_at, step.ended_at, step_attributes)
        name, _, version = step.protocol.partition("@")
        plan = protocol_ns[f"{name}/versions/{version}"]
        _plan(document, plan, step.protocol)
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
    _describe_tests(document, provenance, names)
    _describe_analyses(document, provenance, names)
    _describe_entries(document, provenance, names)
    _sign(document, provenance, signed, names)
    return document


def _sign(
    document: ProvDocument, provenance: Provenance, signed: dict[str, str], names: dict[str, Namespace]
) -> None:
    """Signatures on entries (items and steps carry theirs as they are declared)."""
    for entry in provenance.entries:
        if f"entry:{entry.id}" in signed:
            record = document.get_record(names["entry"][str(entry.id)])[0]
            record.add_attributes({CELLPROV["signatures"]: signed[f"entry:{entry.id}"]})


def _describe_tests(document: ProvDocument, provenance: Provenance, names: dict[str, Namespace]) -> None:
    """A test run is an activity that used the cell and generated its raw file; the per-cycle data was
    derived from the raw file and the metrics from the per-cycle data, each entity with its SHA-256."""
    item_ns, user_ns, protocol_ns, test_ns, file_ns = (
        names[k] for k in ("item", "user", "protocol", "test", "file")
    )
    for run in provenance.tests:
        activity = document.activity(
            test_ns[str(run.id)],
            None,
            None,
            {
                PROV_TYPE: CELLPROV["TestRun"],
                PROV_LABEL: f"test run {run.id} ({run.protocol})",
                CELLPROV["protocol"]: run.protocol,
                CELLPROV["kind"]: run.kind,
                CELLPROV["status"]: run.status,
                CELLPROV["parser"]: run.parser,
                CELLPROV["parserVersion"]: run.parser_version,
                CELLPROV["format"]: run.format,
                CELLPROV["options"]: json.dumps(run.options, ensure_ascii=False, sort_keys=True),
                CELLPROV["recordedAt"]: run.created_at,
            },
        )
        name, _, version = run.protocol.partition("@")
        plan = protocol_ns[f"{name}/versions/{version}"]
        _plan(document, plan, run.protocol)
        document.wasAssociatedWith(
            activity, user_ns[run.created_by], plan, other_attributes={PROV_ROLE: "tester"}
        )
        document.used(activity, item_ns[run.cell], other_attributes={PROV_ROLE: "cell"})
        raw = file_ns[run.file.sha256]
        _file(document, raw, run.file.name, run.file.sha256, run.file.size, CELLPROV["RawCyclerFile"])
        document.wasGeneratedBy(raw, activity)
        cycles = test_ns[f"{run.id}/cycles"]
        if "cycles" in provenance.include:
            csv = cycles_csv(provenance.read_cycles(run.id))
            document.entity(
                cycles,
                {
                    PROV_TYPE: CELLPROV["CycleData"],
                    PROV_LABEL: f"per-cycle data of test run {run.id}",
                    CELLPROV["sha256"]: digest(csv),
                    CELLPROV["size"]: len(csv),
                    CELLPROV["cycleCount"]: run.cycle_count,
                },
            )
            document.wasGeneratedBy(cycles, activity)
            document.wasDerivedFrom(cycles, raw, activity)
        metrics_bytes = metrics_csv(run.metrics)
        metrics = test_ns[f"{run.id}/metrics"]
        document.entity(
            metrics,
            {
                PROV_TYPE: CELLPROV["Metrics"],
                PROV_LABEL: f"metrics of test run {run.id}",
                CELLPROV["sha256"]: digest(metrics_bytes),
                CELLPROV["metrics"]: json.dumps(
                    [m.model_dump() for m in run.metrics], ensure_ascii=False, sort_keys=True
                ),
            },
        )
        document.wasGeneratedBy(metrics, activity)
        document.wasDerivedFrom(metrics, cycles if "cycles" in provenance.include else raw, activity)


def _plan(document: ProvDocument, plan: Any, protocol: str) -> None:
    if document.get_record(plan):
        return
    document.entity(plan, {PROV_TYPE: PROV["Plan"], PROV_LABEL: protocol, CELLPROV["protocol"]: protocol})


def _file(
    document: ProvDocument, identifier: Any, name: str, sha256: str, size: int | None, kind: Any
) -> None:
    if document.get_record(identifier):
        return
    attributes: dict[Any, Any] = {PROV_TYPE: kind, PROV_LABEL: name, CELLPROV["sha256"]: sha256}
    if size is not None:
        attributes[CELLPROV["size"]] = size
    document.entity(identifier, attributes)


def _describe_analyses(document: ProvDocument, provenance: Provenance, names: dict[str, Namespace]) -> None:
    item_ns, user_ns, analysis_ns, file_ns = (names[k] for k in ("item", "user", "analysis", "file"))
    listed = provenance.codes
    for analysis in provenance.analyses:
        attributes: dict[Any, Any] = {
            PROV_TYPE: CELLPROV["Analysis"],
            PROV_LABEL: f"analysis {analysis.id} ({analysis.technique})",
            CELLPROV["technique"]: analysis.technique,
            CELLPROV["status"]: analysis.status,
            CELLPROV["results"]: json.dumps(
                [r.model_dump() for r in analysis.results], ensure_ascii=False, sort_keys=True
            ),
        }
        if analysis.instrument:
            attributes[CELLPROV["instrument"]] = analysis.instrument
        if analysis.title:
            attributes[CELLPROV["title"]] = analysis.title
        activity = document.activity(analysis_ns[str(analysis.id)], analysis.performed_at, None, attributes)
        document.wasAssociatedWith(activity, user_ns[analysis.created_by])
        for code in analysis.subjects:
            if code in listed:
                document.used(activity, item_ns[code], other_attributes={PROV_ROLE: "subject"})
        for f in analysis.files:
            identifier = file_ns[f.sha256]
            size = provenance.file_sizes.get(f.sha256)
            _file(document, identifier, f.name, f.sha256, size, CELLPROV["AnalysisFile"])
            document.wasGeneratedBy(identifier, activity)


def _describe_entries(document: ProvDocument, provenance: Provenance, names: dict[str, Namespace]) -> None:
    """An entry is an entity attributed to its author, influenced by the records it links to; its
    attachments are its members."""
    entry_ns, user_ns, file_ns = (names[k] for k in ("entry", "user", "file"))
    known = {
        **{f"item:{code}": names["item"][code] for code in provenance.codes},
        **{f"step:{step.id}": names["step"][str(step.id)] for step in provenance.steps},
        **{f"test_run:{run.id}": names["test"][str(run.id)] for run in provenance.tests},
        **{f"analysis:{a.id}": names["analysis"][str(a.id)] for a in provenance.analyses},
    }
    for entry in provenance.entries:
        identifier = entry_ns[str(entry.id)]
        document.entity(
            identifier,
            {
                PROV_TYPE: PROV["Collection"] if entry.attachments else CELLPROV["Entry"],
                PROV_LABEL: entry.title,
                CELLPROV["body"]: entry.body,
                CELLPROV["sha256"]: digest(entry.body.encode("utf-8")),
                CELLPROV["date"]: Literal(entry.date.isoformat(), XSD_DATE),
                CELLPROV["version"]: entry.version,
                CELLPROV["status"]: entry.status,
                CELLPROV["tags"]: ", ".join(entry.tags),
                CELLPROV["createdAt"]: entry.created_at,
            },
        )
        document.wasAttributedTo(identifier, user_ns[entry.author])
        for link in entry.links:
            if link in known:
                document.wasInfluencedBy(identifier, known[link])
        for a in entry.attachments:
            _file(document, file_ns[a.sha256], a.name, a.sha256, a.size, CELLPROV["Attachment"])
            document.hadMember(identifier, file_ns[a.sha256])


def to_prov_json(provenance: Provenance) -> str:
    return str(to_prov_document(provenance).serialize(format="json", indent=2, ensure_ascii=False))
