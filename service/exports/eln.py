"""An item's lineage as an ELN Consortium `.eln` archive: a zip with one top folder holding an RO-Crate 1.1.

The crate is built with ro-crate-py; the zip is written here, because ro-crate-py puts
`ro-crate-metadata.json` at the top of the zip while the .eln format wants everything inside one folder.

Layout, for an export of CC-0001:

    CC-0001/ro-crate-metadata.json
    CC-0001/items/<code>/item.json      one Dataset per item, with its record as JSON
    CC-0001/items/<code>/tests/<run>/<name>   the raw cycler file of each of its test runs (from the store)
    CC-0001/audit-excerpt.jsonl         when there are audit events
    CC-0001/signatures.json             when there are signatures

Steps are `CreateAction`s (instrument: the protocol; object: the inputs and the parameters; result: the
outputs; agent: the operator), people are `Person`s, protocols are `HowTo`s: contextual entities.
"""

import hashlib
import io
import json
import shutil
import zipfile
from contextlib import closing
from typing import IO, Any

from rocrate.model.contextentity import ContextEntity
from rocrate.rocrate import ROCrate

from schemas import ItemOut, Quantity, StepOut
from service.exports.logic import Person, Provenance, RawFile
from service.files.store import CHUNK, FileStore

ELN_SPEC_VERSION = "1.0"
MEDIA_TYPE = "application/vnd.eln+zip"


def _item_dir(code: str) -> str:
    return f"items/{code}/"


def _person_id(username: str) -> str:
    return f"#person-{username}"


def _protocol_id(protocol: str) -> str:
    return f"#protocol-{protocol}"


def _step_id(step: StepOut) -> str:
    return f"#step-{step.id}"


def _one_or_many(refs: list[dict[str, str]]) -> dict[str, str] | list[dict[str, str]]:
    """RO-Crate 1.1 prefers a single value to a one-element list."""
    return refs[0] if len(refs) == 1 else refs


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True).encode("utf-8")


def _property_value(entity_id: str, name: str, value: Any) -> dict[str, Any]:
    """A PropertyValue node; quantities keep value and unit apart (`unitText`), other values as they are."""
    node: dict[str, Any] = {"@id": entity_id, "@type": "PropertyValue", "propertyID": name, "name": name}
    if isinstance(value, Quantity):
        value = value.model_dump()
    if isinstance(value, dict) and set(value) == {"value", "unit"}:
        node["value"], node["unitText"] = value["value"], value["unit"]
    elif isinstance(value, str | int | float | bool):
        node["value"] = value
    else:
        node["value"] = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return node


def _item_properties(item: ItemOut) -> dict[str, Any]:
    """What the .eln spec calls flexible metadata: every field of the item worth reading, one node each."""
    fields: dict[str, Any] = {
        "kind": item.kind.value,
        "type": item.type,
        "status": item.status.value,
        "version": item.version,
        "quantity": item.quantity,
        "remaining": item.remaining,
        "supplier": item.supplier,
        "catalog_number": item.catalog_number,
        "supplier_lot": item.supplier_lot,
        "received_on": item.received_on.isoformat() if item.received_on else None,
        "expires_on": item.expires_on.isoformat() if item.expires_on else None,
        "produced_by_step": item.produced_by,
        "void_reason": item.void_reason,
    }
    fields.update({f"properties.{key}": value for key, value in item.properties.items()})
    return {name: value for name, value in fields.items() if value is not None}


class _Archive:
    """The crate being built and the bytes of the files it describes, by path inside the top folder."""

    def __init__(self, provenance: Provenance, license_url: str):
        self.provenance = provenance
        self.files: dict[str, bytes] = {}
        self.stored: dict[str, str] = {}
        """Files whose bytes come from the file store at zipping time, by path: their SHA-256."""
        self.crate = ROCrate(version="1.1")
        self.license_url = license_url

    def add(self, node: dict[str, Any]) -> None:
        properties = {key: value for key, value in node.items() if key != "@id"}
        self.crate.add(ContextEntity(self.crate, node["@id"], properties=properties))

    def add_file(self, path: str, content: bytes, encoding: str, name: str, description: str) -> None:
        self.files[path] = content
        self.crate.add_file(
            source=io.BytesIO(content),
            dest_path=path,
            properties={
                "name": name,
                "description": description,
                "encodingFormat": encoding,
                "contentSize": str(len(content)),
                "sha256": hashlib.sha256(content).hexdigest(),
            },
        )

    def add_stored(self, raw: RawFile) -> str:
        """A test run's raw file, described now and streamed from the store into the zip later."""
        path = f"{_item_dir(raw.item)}tests/{raw.test_run}/{raw.name}"
        self.stored[path] = raw.sha256
        self.crate.add_file(
            dest_path=path,
            properties={
                "name": raw.name,
                "description": f"The cycler file of test run {raw.test_run} ({raw.protocol}) of {raw.item}",
                "encodingFormat": raw.media_type,
                "contentSize": str(raw.size),
                "sha256": raw.sha256,
            },
        )
        return path

    def describe_publisher(self) -> None:
        """The metadata descriptor names this cellprov server as publisher and the .eln spec version."""
        server = self.provenance.api_url.removesuffix("/api/v1") + "/"
        self.add({"@id": server, "@type": "Organization", "name": "cellprov", "url": server})
        self.crate.root_dataset["publisher"] = {"@id": server}
        descriptor = self.crate.metadata
        descriptor["sdPublisher"] = {"@id": server}
        descriptor["version"] = ELN_SPEC_VERSION
        descriptor["dateCreated"] = self.provenance.exported_at.isoformat()

    def describe_root(self) -> None:
        provenance = self.provenance
        direction = "upstream" if provenance.direction == "up" else "downstream"
        limit = provenance.max_depth
        depth = "all steps" if limit is None else f"at most {limit} step{'' if limit == 1 else 's'} away"
        root = self.crate.root_dataset
        root["name"] = f"Provenance of {provenance.root} ({direction} lineage)"
        root["description"] = (
            f"The {direction} lineage of {provenance.root} ({depth}) exported by cellprov: "
            f"{len(provenance.items)} items and {len(provenance.steps)} steps."
        )
        root["datePublished"] = provenance.exported_at.isoformat()
        self.add({"@id": self.license_url, "@type": "CreativeWork", "name": self.license_url})
        root["license"] = {"@id": self.license_url}
        root["mainEntity"] = {"@id": _item_dir(provenance.root)}

    def describe_people(self) -> None:
        for person in self.provenance.people.values():
            self.add(_person_node(person))

    def describe_items(self) -> list[str]:
        datasets = []
        for item in self.provenance.items:
            folder = _item_dir(item.code)
            record = f"{folder}item.json"
            self.add_file(
                record,
                _json_bytes(item.model_dump(mode="json")),
                "application/json",
                "item.json",
                f"The cellprov record of {item.code} as exported",
            )
            properties = []
            for name, value in _item_properties(item).items():
                node = _property_value(f"#{item.code}-{name}", name, value)
                self.add(node)
                properties.append({"@id": node["@id"]})
            self.crate.add_dataset(
                dest_path=folder,
                properties={
                    "name": f"{item.code}: {item.name or item.type}",
                    "identifier": item.code,
                    "description": f"{item.kind.value} of type {item.type}, {item.status.value}",
                    # The consortium wants keywords as one comma-separated string, never a list.
                    "keywords": f"{item.kind.value}, {item.type}",
                    "author": {"@id": _person_id(item.created_by)},
                    "dateCreated": item.created_at.isoformat(),
                    "dateModified": item.updated_at.isoformat(),
                    "hasPart": [{"@id": record}]
                    + [
                        {"@id": self.add_stored(raw)}
                        for raw in self.provenance.raw_files
                        if raw.item == item.code
                    ],
                    "variableMeasured": properties,
                },
            )
            datasets.append(folder)
        return datasets

    def describe_steps(self) -> None:
        listed = self.provenance.codes
        protocols: set[str] = set()
        for step in self.provenance.steps:
            if step.protocol not in protocols:
                protocols.add(step.protocol)
                name, _, version = step.protocol.partition("@")
                self.add(
                    {"@id": _protocol_id(step.protocol), "@type": "HowTo", "name": name, "version": version}
                )
            parameters = []
            for name, value in step.parameters.items():
                parameter = _property_value(f"{_step_id(step)}-{name}", name, value)
                self.add(parameter)
                parameters.append({"@id": parameter["@id"]})
            action: dict[str, Any] = {
                "@id": _step_id(step),
                "@type": "CreateAction",
                "name": f"step {step.id}: {step.protocol}",
                "identifier": str(step.id),
                "instrument": {"@id": _protocol_id(step.protocol)},
                "agent": {"@id": _person_id(step.operator)},
                # Parameters go with the inputs, as Process Run Crates do; an input used in two roles once.
                "object": _one_or_many(
                    [
                        {"@id": _item_dir(code)}
                        for code in dict.fromkeys(g.item.code for g in step.inputs if g.item.code in listed)
                    ]
                    + parameters
                ),
                "result": _one_or_many(
                    [{"@id": _item_dir(made.code)} for made in step.outputs if made.code in listed]
                ),
                "actionStatus": {
                    "@id": "http://schema.org/FailedActionStatus"
                    if step.status == "voided"
                    else "http://schema.org/CompletedActionStatus"
                },
            }
            for key, moment in (("startTime", step.started_at), ("endTime", step.ended_at)):
                if moment is not None:
                    action[key] = moment.isoformat()
            if step.notes:
                action["description"] = step.notes
            if step.void_reason:
                action["error"] = f"voided: {step.void_reason}"
            self.add(action)

    def describe_audit(self) -> None:
        provenance = self.provenance
        if provenance.audit:
            lines = b"".join(
                json.dumps(event, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n"
                for event in provenance.audit
            )
            self.add_file(
                "audit-excerpt.jsonl",
                lines,
                "application/x-ndjson",
                "audit-excerpt.jsonl",
                f"The audit events about the {len(provenance.items)} exported items, oldest first",
            )
        if provenance.signatures:
            self.add_file(
                "signatures.json",
                _json_bytes(provenance.signatures),
                "application/json",
                "signatures.json",
                "The e-signatures on the exported records",
            )

    def zip_into(self, out: IO[bytes], top: str, store: FileStore | None) -> None:
        metadata = self.crate.metadata.generate()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{top}/ro-crate-metadata.json", _json_bytes(metadata))
            for path, content in self.files.items():
                archive.writestr(f"{top}/{path}", content)
            for path, sha256 in self.stored.items():
                if store is None:
                    raise ValueError("an archive with stored files needs the file store")
                # Streamed part by part: a cycler file never sits whole in memory.
                with closing(store.open(sha256)) as source, archive.open(f"{top}/{path}", "w") as target:
                    shutil.copyfileobj(source, target, CHUNK)


def _person_node(person: Person) -> dict[str, Any]:
    return {
        "@id": _person_id(person.username),
        "@type": "Person",
        "name": person.full_name,
        "identifier": person.username,
        "jobTitle": person.role,
    }


def write_eln(
    provenance: Provenance, license_url: str, out: IO[bytes], store: FileStore | None = None
) -> None:
    """The .eln archive of an export, written to `out`; its top folder is named after the exported item.
    The raw files of test runs are read from `store`."""
    archive = _Archive(provenance, license_url)
    archive.describe_publisher()
    archive.describe_root()
    archive.describe_people()
    datasets = archive.describe_items()
    archive.describe_steps()
    archive.describe_audit()
    # ro-crate-py lists every file in the root's hasPart; the .eln format lists the item folders there and
    # each folder's files in the folder's own hasPart. The audit excerpt and signatures belong to the root.
    top_files = [path for path in archive.files if "/" not in path]
    # hasPart is always a list, even of one: the consortium's metadata checker crashes on a single object.
    archive.crate.root_dataset["hasPart"] = [{"@id": path} for path in datasets + top_files]
    archive.zip_into(out, provenance.root, store)


def to_eln(provenance: Provenance, license_url: str, store: FileStore | None = None) -> bytes:
    """The archive as bytes (small exports and tests; the route writes to a temporary file instead)."""
    out = io.BytesIO()
    write_eln(provenance, license_url, out, store)
    return out.getvalue()
