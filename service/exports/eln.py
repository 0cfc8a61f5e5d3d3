"""An item's lineage as an ELN Consortium `.eln` archive: a zip with one top folder holding an RO-Crate 1.1.

The crate is built with ro-crate-py; the zip is written here, because ro-crate-py puts
`ro-crate-metadata.json` at the top of the zip while the .eln format wants everything inside one folder.

Layout, for an export of CC-0001:

    CC-0001/ro-crate-metadata.json
    CC-0001/items/<code>/item.json      one Dataset per item, with its record as JSON
    CC-0001/tests/<id>/test.json        a test run: its record (protocol, options, parser, metrics) ...
    CC-0001/tests/<id>/raw/<name>       ... the raw cycler file, byte for byte ...
    CC-0001/tests/<id>/cycles.csv       ... the per-cycle data and
    CC-0001/tests/<id>/metrics.csv      ... its metrics with the conventions they were computed by
    CC-0001/analyses/<id>/analysis.json an analysis (technique, instrument, results with units) and its files
    CC-0001/analyses/<id>/files/<sha256>-<name>
    CC-0001/entries/<id>/entry.md       a notebook entry's Markdown, its record and its attachments
    CC-0001/entries/<id>/entry.json
    CC-0001/entries/<id>/files/<sha256>-<name>
    CC-0001/audit-excerpt.jsonl         when there are audit events
    CC-0001/signatures.json             when there are signatures
    CC-0001/cellprov-records.json       every record as cellprov reads it back (the round trip of
                                        POST /import/eln): items, steps with their parameters, inputs and
                                        amounts, test runs, analyses, entries, and where their files are

Every file carries `sha256` and `contentSize`. A part left out with `include=` (e.g. `-raw`) is still
described, with the file's API address as its `@id` (a web entity), so the archive says what it lacks.
Test runs, analyses and entries are `CreateAction`s too: the test used the cell and made its files.

The zip is written as it is built, to a spooled temporary file: stored files are copied from the file store
in chunks and the archive is never held whole in memory.

Steps are `CreateAction`s (instrument: the protocol; object: the inputs and the parameters; result: the
outputs; agent: the operator), people are `Person`s, protocols are `HowTo`s: contextual entities.
"""

import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from typing import IO, Any, BinaryIO

from rocrate.model.contextentity import ContextEntity
from rocrate.rocrate import ROCrate

from schemas import ItemOut, Quantity, StepOut
from service.exports.logic import Person, Provenance
from service.exports.parts import cycles_csv, digest, json_bytes, metrics_csv, test_record

OpenBlob = Callable[[str], BinaryIO]
"""Opens a stored file by its SHA-256 (the file store's `open`)."""
SPOOL_BYTES = 8 * 1024 * 1024

ELN_SPEC_VERSION = "1.0"
RECORDS_FILE = "cellprov-records.json"
RECORDS_FORMAT = "cellprov-records"
RECORDS_VERSION = 1
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


def _safe_file_name(name: str) -> str:
    """A stored file's name as one path segment inside the archive (names are the uploader's words)."""
    cleaned = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name).strip("._") or "file"
    return cleaned[:120]


class _Archive:
    """The crate being built and the zip its files are written into as they are added."""

    def __init__(self, provenance: Provenance, license_url: str, open_blob: OpenBlob, out: IO[bytes]):
        self.provenance = provenance
        self.crate = ROCrate(version="1.1")
        self.license_url = license_url
        self.open_blob = open_blob
        self.top = provenance.root
        self.zip = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED)
        self.top_files: list[str] = []
        self.datasets: list[str] = []
        self.protocols: set[str] = set()
        # Where each record's files went in the archive (None: left out), for cellprov-records.json.
        self.test_files: dict[int, dict[str, str | None]] = {}
        self.record_files: dict[str, dict[str, str | None]] = {}

    def add(self, node: dict[str, Any]) -> None:
        properties = {key: value for key, value in node.items() if key != "@id"}
        self.crate.add(ContextEntity(self.crate, node["@id"], properties=properties))

    def _describe_file(
        self, file_id: str, name: str, description: str, encoding: str, size: int, sha: str
    ) -> None:
        self.crate.add_file(
            source=None,
            dest_path=file_id,
            properties={
                "name": name,
                "description": description,
                "encodingFormat": encoding,
                "contentSize": str(size),
                "sha256": sha,
            },
        )

    def add_file(self, path: str, content: bytes, encoding: str, name: str, description: str) -> str:
        self.zip.writestr(f"{self.top}/{path}", content)
        self._describe_file(path, name, description, encoding, len(content), digest(content))
        if "/" not in path:
            self.top_files.append(path)
        return path

    def add_blob(
        self, path: str, sha256: str, size: int, encoding: str, name: str, description: str, wanted: bool
    ) -> str:
        """A stored file: copied from the file store in chunks, or (left out) described by its address."""
        if not wanted:
            address = f"{self.provenance.api_url}/files/{sha256}"
            # A web data entity: where the bytes can be fetched, with their digest to check them by.
            self.add(
                {
                    "@id": address,
                    "@type": "File",
                    "name": name,
                    "description": description + " (left out of this export)",
                    "encodingFormat": encoding,
                    "contentSize": str(size),
                    "sha256": sha256,
                }
            )
            return address
        with (
            self.open_blob(sha256) as source,
            self.zip.open(f"{self.top}/{path}", "w", force_zip64=True) as sink,
        ):
            shutil.copyfileobj(source, sink, 1024 * 1024)
        self._describe_file(path, name, description, encoding, size, sha256)
        return path

    def add_folder(self, folder: str, properties: dict[str, Any]) -> None:
        self.crate.add_dataset(source=None, dest_path=folder, properties=properties)
        self.datasets.append(folder)

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
                json_bytes(item.model_dump(mode="json")),
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
                source=None,
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
                    "hasPart": [{"@id": record}],
                    "variableMeasured": properties,
                },
            )
            datasets.append(folder)
        self.datasets += datasets
        return datasets

    def describe_steps(self) -> None:
        listed = self.provenance.codes
        for step in self.provenance.steps:
            self._protocol(step.protocol)
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

    def _action(self, action_id: str, name: str, agent: str, objects: list[str], results: list[str]) -> dict:
        return {
            "@id": action_id,
            "@type": "CreateAction",
            "name": name,
            "agent": {"@id": _person_id(agent)},
            "object": [{"@id": ref} for ref in objects],
            "result": [{"@id": ref} for ref in results],
        }

    def describe_tests(self) -> None:
        """Each test run: a folder with its record, raw file, per-cycle data and metrics; a CreateAction that
        used the cell (and the protocol as instrument) and made those files."""
        include = self.provenance.include
        for run in self.provenance.tests:
            folder = f"tests/{run.id}/"
            record = self.add_file(
                f"{folder}test.json",
                test_record(run),
                "application/json",
                "test.json",
                f"Test run {run.id} of {run.cell}: protocol, options, parser and version, metrics",
            )
            raw = self.add_blob(
                f"{folder}raw/{_safe_file_name(run.file.name)}",
                run.file.sha256,
                run.file.size,
                run.file.media_type,
                run.file.name,
                f"The raw cycler file ({run.format}) of test run {run.id}",
                "raw" in include,
            )
            parts = [record, raw]
            self.test_files[run.id] = {"raw": raw if "raw" in include else None, "cycles": None}
            if "cycles" in include:
                parts.append(
                    self.add_file(
                        f"{folder}cycles.csv",
                        cycles_csv(self.provenance.read_cycles(run.id)),
                        "text/csv",
                        "cycles.csv",
                        f"Per-cycle data of test run {run.id}, read from the raw file by {run.parser}",
                    )
                )
                self.test_files[run.id]["cycles"] = parts[-1]
            parts.append(
                self.add_file(
                    f"{folder}metrics.csv",
                    metrics_csv(run.metrics),
                    "text/csv",
                    "metrics.csv",
                    f"Metrics of test run {run.id} with the conventions they were computed by",
                )
            )
            self.add_folder(
                folder,
                {
                    "name": f"test run {run.id} of {run.cell} ({run.protocol})",
                    "identifier": f"test_run:{run.id}",
                    "description": f"{run.kind} test, {run.cycle_count} cycles, {run.status}",
                    "keywords": f"test run, {run.kind}",
                    "about": {"@id": _item_dir(run.cell)},
                    "author": {"@id": _person_id(run.created_by)},
                    "dateCreated": run.created_at.isoformat(),
                    "hasPart": [{"@id": ref} for ref in parts],
                },
            )
            action = self._action(
                f"#test-{run.id}",
                f"test run {run.id}: {run.protocol}",
                run.created_by,
                [_item_dir(run.cell)],
                parts,
            )
            action["instrument"] = {"@id": self._protocol(run.protocol)}
            self.add(action)

    def _protocol(self, protocol: str) -> str:
        node_id = _protocol_id(protocol)
        if node_id not in self.protocols:
            self.protocols.add(node_id)
            name, _, version = protocol.partition("@")
            self.add({"@id": node_id, "@type": "HowTo", "name": name, "version": version})
        return node_id

    def describe_analyses(self) -> None:
        include = self.provenance.include
        listed = self.provenance.codes
        for analysis in self.provenance.analyses:
            folder = f"analyses/{analysis.id}/"
            parts = [
                self.add_file(
                    f"{folder}analysis.json",
                    json_bytes(analysis.model_dump(mode="json")),
                    "application/json",
                    "analysis.json",
                    f"Analysis {analysis.id} ({analysis.technique}): its results with units",
                )
            ]
            for f in analysis.files:
                parts.append(
                    self.add_blob(
                        f"{folder}files/{f.sha256[:12]}-{_safe_file_name(f.name)}",
                        f.sha256,
                        self.provenance.file_sizes.get(f.sha256, 0),
                        f.media_type,
                        f.name,
                        f"{f.label or 'file'} of analysis {analysis.id}",
                        "files" in include,
                    )
                )
                self._file_at(f"analysis:{analysis.id}", f.sha256, parts[-1], "files" in include)
            results = []
            for n, result in enumerate(analysis.results):
                node = _property_value(
                    f"#analysis-{analysis.id}-result-{n}", result.name, result.model_dump()
                )
                node["value"], node["unitText"] = result.value, result.unit
                if result.note:
                    node["description"] = result.note
                self.add(node)
                results.append({"@id": node["@id"]})
            subjects = [_item_dir(code) for code in analysis.subjects if code in listed]
            self.add_folder(
                folder,
                {
                    "name": f"analysis {analysis.id}: {analysis.title or analysis.technique}",
                    "identifier": f"analysis:{analysis.id}",
                    "description": f"{analysis.technique} on {analysis.instrument or 'no named instrument'}",
                    "keywords": f"analysis, {analysis.technique}",
                    "mentions": [{"@id": ref} for ref in subjects],
                    "author": {"@id": _person_id(analysis.created_by)},
                    "dateCreated": analysis.created_at.isoformat(),
                    "hasPart": [{"@id": ref} for ref in parts],
                    "variableMeasured": results,
                },
            )
            title = f"analysis {analysis.id}: {analysis.technique}"
            action = self._action(f"#analysis-{analysis.id}", title, analysis.created_by, subjects, parts)
            if analysis.performed_at is not None:
                action["startTime"] = analysis.performed_at.isoformat()
            if analysis.instrument:
                action["instrument"] = {"@id": f"#instrument-{_safe_file_name(analysis.instrument)}"}
                self.add({"@id": action["instrument"]["@id"], "@type": "Thing", "name": analysis.instrument})
            self.add(action)

    def describe_entries(self) -> None:
        include = self.provenance.include
        for entry in self.provenance.entries:
            folder = f"entries/{entry.id}/"
            parts = [
                self.add_file(
                    f"{folder}entry.md",
                    entry.body.encode("utf-8"),
                    "text/markdown",
                    "entry.md",
                    f"The Markdown of entry {entry.id}, version {entry.version}",
                ),
                self.add_file(
                    f"{folder}entry.json",
                    json_bytes(entry.model_dump(mode="json")),
                    "application/json",
                    "entry.json",
                    f"The record of entry {entry.id}: links, tags, author, dates",
                ),
            ]
            for a in entry.attachments:
                parts.append(
                    self.add_blob(
                        f"{folder}files/{a.sha256[:12]}-{_safe_file_name(a.name)}",
                        a.sha256,
                        a.size,
                        a.media_type,
                        a.name,
                        f"attachment of entry {entry.id}",
                        "files" in include,
                    )
                )
                self._file_at(f"entry:{entry.id}", a.sha256, parts[-1], "files" in include)
            self.add_folder(
                folder,
                {
                    "name": f"entry {entry.id}: {entry.title}",
                    "identifier": f"entry:{entry.id}",
                    "description": f"notebook entry of {entry.date.isoformat()}, {entry.status}",
                    "keywords": ", ".join(["notebook entry", *entry.tags]),
                    "mentions": [{"@id": ref} for ref in self._record_refs(entry.links)],
                    "author": {"@id": _person_id(entry.author)},
                    "dateCreated": entry.created_at.isoformat(),
                    "dateModified": entry.updated_at.isoformat(),
                    "text": entry.body,
                    "hasPart": [{"@id": ref} for ref in parts],
                },
            )

    def _file_at(self, record: str, sha256: str, path: str, inside: bool) -> None:
        self.record_files.setdefault(record, {})[sha256] = path if inside else None

    def describe_records(self) -> None:
        """cellprov-records.json: every exported record as the API shows it, so that cellprov can import the
        archive as the same records (the crate's nodes are for other readers; they flatten parameters and
        lose what a step consumed). A File of the root like the audit excerpt; recognised by `format`."""
        provenance = self.provenance
        document = {
            "format": RECORDS_FORMAT,
            "version": RECORDS_VERSION,
            "exported_from": provenance.api_url,
            "exported_at": provenance.exported_at.isoformat(),
            "root": provenance.root,
            "direction": provenance.direction,
            "max_depth": provenance.max_depth,
            "include": sorted(provenance.include),
            "people": {
                person.username: {"full_name": person.full_name, "role": person.role}
                for person in provenance.people.values()
            },
            "items": [item.model_dump(mode="json") for item in provenance.items],
            "steps": [step.model_dump(mode="json") for step in provenance.steps],
            "tests": [
                {"record": run.model_dump(mode="json"), "files": self.test_files.get(run.id, {})}
                for run in provenance.tests
            ],
            "analyses": [
                {
                    "record": analysis.model_dump(mode="json"),
                    "files": self.record_files.get(f"analysis:{analysis.id}", {}),
                }
                for analysis in provenance.analyses
            ],
            "entries": [
                {
                    "record": entry.model_dump(mode="json", exclude={"signatures"}),
                    "files": self.record_files.get(f"entry:{entry.id}", {}),
                }
                for entry in provenance.entries
            ],
        }
        self.add_file(
            RECORDS_FILE,
            json_bytes(document),
            "application/json",
            RECORDS_FILE,
            "The exported records as cellprov reads them back on import (items, steps, test runs, "
            "analyses, entries and where their files are in this archive)",
        )

    def _record_refs(self, links: list[str]) -> list[str]:
        """An entry's links as the crate's own nodes, where the linked record is in the export."""
        known = {
            **{f"item:{code}": _item_dir(code) for code in self.provenance.codes},
            **{f"step:{step.id}": _step_id(step) for step in self.provenance.steps},
            **{f"test_run:{run.id}": f"tests/{run.id}/" for run in self.provenance.tests},
            **{f"analysis:{a.id}": f"analyses/{a.id}/" for a in self.provenance.analyses},
        }
        return [known[link] for link in links if link in known]

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
                json_bytes(provenance.signatures),
                "application/json",
                "signatures.json",
                "The e-signatures on the exported records",
            )

    def finish(self) -> None:
        """The metadata goes in last: only now is every file's digest known."""
        self.zip.writestr(f"{self.top}/ro-crate-metadata.json", json_bytes(self.crate.metadata.generate()))
        self.zip.close()


def _person_node(person: Person) -> dict[str, Any]:
    return {
        "@id": _person_id(person.username),
        "@type": "Person",
        "name": person.full_name,
        "identifier": person.username,
        "jobTitle": person.role,
    }


def write_eln(
    provenance: Provenance,
    license_url: str,
    open_blob: OpenBlob,
    out: IO[bytes],
) -> None:
    """Write the .eln archive of an export into `out`; its top folder is named after the exported item."""
    archive = _Archive(provenance, license_url, open_blob, out)
    archive.describe_publisher()
    archive.describe_root()
    archive.describe_people()
    archive.describe_items()
    archive.describe_steps()
    archive.describe_tests()
    archive.describe_analyses()
    archive.describe_entries()
    archive.describe_audit()
    archive.describe_records()
    # ro-crate-py lists every file in the root's hasPart; the .eln format lists the folders there and
    # each folder's files in the folder's own hasPart. The audit excerpt and signatures belong to the root.
    # hasPart is always a list, even of one: the consortium's metadata checker crashes on a single object.
    archive.crate.root_dataset["hasPart"] = [{"@id": path} for path in archive.datasets + archive.top_files]
    archive.finish()


def spooled_eln(provenance: Provenance, license_url: str, open_blob: OpenBlob) -> IO[bytes]:
    """The archive in a spooled temporary file (memory up to a few MiB, then disk), rewound for reading."""
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - the caller streams and closes it
    try:
        write_eln(provenance, license_url, open_blob, out)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


def to_eln(provenance: Provenance, license_url: str, open_blob: OpenBlob | None = None) -> bytes:
    """The archive as bytes, for small exports and tests."""
    with spooled_eln(provenance, license_url, open_blob or _no_blobs) as out:
        return out.read()


def _no_blobs(sha256: str) -> BinaryIO:
    raise LookupError(f"no file store to read {sha256} from")
