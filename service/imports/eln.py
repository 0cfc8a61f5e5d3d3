"""Importing an .eln archive as notebook entries: each Dataset of the crate (the root too) becomes an entry
whose Markdown carries the dataset's name, description and text, its original authors and dates, its
properties and the datasets it links to; the Files it lists that the archive holds become the entry's
attachments. People, organisations and property values are kept as data inside those entries. Everything
else is reported as skipped, with the reason.

Entries are written with the entries' own `create_entry` (its rules, its attachment store, its events), in
the request's one transaction: a refusal or a failure writes nothing. Each created entry is tagged with
the archive's digest, so the same archive imported again creates nothing; an `entry.imported` event names
who imported it and from which archive, and the original events are never replayed as if they happened
here."""

import io
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from schemas.eln_import import ElnEntity, ElnImportOut
from schemas.entries import EntryIn
from service.auth.tables import User
from service.entries.attachments import MAX_ATTACHMENT_BYTES, Upload, clean_name, media_type_of
from service.entries.logic import create_entry
from service.entries.queries import EntryFilter, list_entries
from service.files.intake import Intake
from service.imports.eln_archive import Crate
from service.work import note_event

MAX_BODY = 90_000
MAX_ATTACHMENTS = 50
CONTEXTUAL = {"Person", "Organization", "PropertyValue", "CreativeWork", "Thing", "HowTo", "Place"}


def _types(node: dict[str, Any]) -> list[str]:
    kind = node.get("@type", [])
    kinds = kind if isinstance(kind, list) else [kind]
    return [k for k in kinds if isinstance(k, str)]


def _refs(value: Any) -> list[str]:
    """The @ids a property names: one reference or a list of them (nested nodes by their @id)."""
    values = value if isinstance(value, list) else [value]
    return [v["@id"] for v in values if isinstance(v, dict) and isinstance(v.get("@id"), str)]


def _text(value: Any, limit: int = 2000) -> str:
    if isinstance(value, list):
        value = ", ".join(_text(v, limit) for v in value)
    elif isinstance(value, dict):
        value = value.get("name") or value.get("@value") or value.get("@id") or ""
    return str(value)[:limit] if value is not None else ""


def _tag(sha256: str) -> str:
    return f"eln-{sha256[:16]}"


@dataclass
class _Planned:
    dataset: str
    title: str
    body: str
    files: list[tuple[str, Any]] = field(default_factory=list)
    """(@id, zip member) of each attachment."""


def _name_of(crate: Crate, ref: str) -> str:
    node = crate.nodes.get(ref, {})
    return _text(node.get("name") or node.get("identifier") or ref, 200)


def _body(crate: Crate, node: dict[str, Any], datasets: set[str]) -> str:
    lines = []
    for key in ("description", "text", "abstract"):
        if node.get(key):
            lines += [_text(node[key], 20_000), ""]
    facts = []
    for key, label in (
        ("identifier", "identifier"),
        ("keywords", "keywords"),
        ("dateCreated", "created"),
        ("dateModified", "modified"),
    ):
        if node.get(key):
            facts.append(f"- {label}: {_text(node[key])}")
    for key in ("author", "creator", "contributor"):
        names = [_name_of(crate, ref) for ref in _refs(node.get(key))]
        if names:
            facts.append(f"- {key}: {', '.join(names)}")
    for ref in _refs(node.get("variableMeasured")) + _refs(node.get("additionalProperty")):
        value = crate.nodes.get(ref, {})
        name = _text(value.get("propertyID") or value.get("name") or ref, 200)
        unit = f" {_text(value['unitText'], 50)}" if value.get("unitText") else ""
        facts.append(f"- {name}: {_text(value.get('value'))}{unit}")
    linked = [
        ref
        for key in ("hasPart", "isPartOf", "mentions", "about", "isBasedOn", "citation")
        for ref in _refs(node.get(key))
        if ref in datasets and ref != node["@id"]
    ]
    if linked:
        facts.append("- linked: " + "; ".join(_name_of(crate, ref) for ref in dict.fromkeys(linked)))
    if facts:
        lines += ["**From the archive**", "", *facts]
    return "\n".join(lines).strip()[:MAX_BODY]


def plan(crate: Crate) -> tuple[list[_Planned], list[ElnEntity]]:
    """What each entity becomes; nothing is read beyond the metadata but the members' headers."""
    report: list[ElnEntity] = []
    datasets = {i for i, n in crate.nodes.items() if "Dataset" in _types(n)}
    claimed: dict[str, str] = {}
    planned: list[_Planned] = []
    for ref in sorted(datasets, key=lambda i: (i != "./", i)):
        node = crate.nodes[ref]
        title = _text(node.get("name") or node.get("identifier") or ref, 200).strip() or ref[:200]
        entry = _Planned(ref, title, _body(crate, node, datasets))
        for part in _refs(node.get("hasPart")):
            target = crate.nodes.get(part, {})
            if "File" not in _types(target) or part in claimed:
                continue
            info = crate.member(part)
            if info is not None and len(entry.files) < MAX_ATTACHMENTS:
                entry.files.append((part, info))
                claimed[part] = ref
        planned.append(entry)
        report.append(ElnEntity(id=ref, type="Dataset", became="entry"))
    for ref, node in crate.nodes.items():
        kinds = _types(node)
        shown = "/".join(kinds) or "?"
        if ref in datasets:
            continue
        if ref in claimed:
            report.append(ElnEntity(id=ref, type=shown, became="attachment", reason=f"of {claimed[ref]}"))
        elif "File" in kinds:
            why = "its bytes are not in the archive" if crate.member(ref) is None else "no dataset lists it"
            if ref == "ro-crate-metadata.json":
                why = "the crate's own metadata"
            report.append(ElnEntity(id=ref, type=shown, became="skipped", reason=why))
        elif set(kinds) & CONTEXTUAL:
            report.append(
                ElnEntity(id=ref, type=shown, became="data", reason="kept in the entries naming it")
            )
        else:
            report.append(
                ElnEntity(id=ref, type=shown, became="skipped", reason=f"no counterpart for {shown}")
            )
    report += [
        ElnEntity(
            id=ref, type="?", became="skipped", reason="a second node with this @id (the first is kept)"
        )
        for ref in crate.duplicates
    ]
    return planned, report


def _already_imported(session: Session, crate: Crate) -> bool:
    return bool(list_entries(session, EntryFilter(tag=_tag(crate.sha256)), None, 1))


def import_crate(
    session: Session, user: User, crate: Crate, arriving: Intake, *, dry_run: bool
) -> ElnImportOut:
    planned, report = plan(crate)
    already = _already_imported(session, crate)
    attachments = sum(len(p.files) for p in planned)
    if dry_run or already:
        return ElnImportOut(
            archive_sha256=crate.sha256,
            dry_run=dry_run,
            already_imported=already,
            entries=0 if already else len(planned),
            attachments=0 if already else attachments,
            entities=report,
        )
    made: dict[str, str] = {}
    # Every member is read (and a corrupt one refused) and staged before the first entry writes a row; the
    # caller keeps the staged bytes only once the transaction commits.
    uploads_of = [
        [
            Upload(
                name=clean_name(
                    _text(crate.nodes[part].get("name"), 255) or info.filename.rsplit("/", 1)[-1]
                ),
                media_type=media_type_of(info.filename, _text(crate.nodes[part].get("encodingFormat"), 127)),
                stored=arriving.put(io.BytesIO(crate.read(info)), MAX_ATTACHMENT_BYTES, "/file"),
            )
            for part, info in entry.files
        ]
        for entry in planned
    ]
    for entry, uploads in zip(planned, uploads_of, strict=True):
        header = f"*Imported from an .eln archive (SHA-256 {crate.sha256}), entity `{entry.dataset}`.*"
        written = create_entry(
            session,
            user,
            EntryIn(
                title=entry.title,
                body=f"{header}\n\n{entry.body}"[:MAX_BODY],
                tags=["imported", _tag(crate.sha256)],
            ),
            arriving.store,
            uploads,
        )
        made[entry.dataset] = f"entry:{written.id}"
        for part, _ in entry.files:
            made[part] = f"entry:{written.id}"
        note_event(
            session,
            "entry.imported",
            "entry",
            str(written.id),
            data={"archive_sha256": crate.sha256, "entity": entry.dataset, "imported_by": user.username},
        )
    note_event(
        session,
        "eln.imported",
        "import",
        crate.sha256,
        data={"entries": len(planned), "attachments": attachments, "entities": len(report)},
    )
    for item in report:
        item.entry = made.get(item.id)
    return ElnImportOut(
        archive_sha256=crate.sha256,
        dry_run=False,
        already_imported=False,
        entries=len(planned),
        attachments=attachments,
        entities=report,
    )
