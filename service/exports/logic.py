"""Gathering what an export holds: the item, its lineage (items, links, steps), the people behind the steps.

Both renderers (PROV-JSON, .eln) work from the same `Provenance` record, so they always describe the same
graph: the one `GET /items/{code}/lineage` answers with the same direction and depth.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlmodel import Session, col, select

from schemas import ItemOut, LineageEdge, StepOut
from service.audit.logic import event_of
from service.audit.queries import events_about
from service.auth.tables import User
from service.cycling.tables import TestRun
from service.db import utcnow
from service.files.tables import StoredFile
from service.items.logic import item_out
from service.items.tables import Item
from service.lineage.logic import trace
from service.lineage.queries import Direction
from service.signable import SIGNABLE
from service.signatures.logic import load_record, signatures_of
from service.steps.logic import get_step, step_out

ExportFormat = Literal["prov-json", "eln"]


@dataclass(frozen=True)
class Person:
    username: str
    full_name: str
    role: str


@dataclass(frozen=True)
class RawFile:
    """A cycler file of an exported item's test run: its bytes go into the archive from the file store."""

    item: str
    test_run: int
    protocol: str
    sha256: str
    name: str
    media_type: str
    size: int


@dataclass
class Provenance:
    """One item's lineage with every record it mentions, ready to be written in any export format."""

    root: str
    direction: Direction
    max_depth: int | None
    api_url: str
    """The API base the records live under (e.g. https://lab.example/api/v1); identifiers are built on it."""
    exported_at: datetime
    items: list[ItemOut]
    depths: dict[str, int]
    links: list[LineageEdge]
    steps: list[StepOut]
    people: dict[str, Person]
    """Step operators and item creators, by username."""
    audit: list[dict[str, Any]] = field(default_factory=list)
    signatures: list[dict[str, Any]] = field(default_factory=list)
    raw_files: list[RawFile] = field(default_factory=list)

    @property
    def codes(self) -> set[str]:
        return {item.code for item in self.items}


def _audit_excerpt(session: Session, codes: list[str], steps: list[StepOut]) -> list[dict[str, Any]]:
    """The audit events about the exported items and steps, oldest first, as the audit export writes them."""
    rows = events_about(session, codes, [step.id for step in steps])
    return [event_of(row).model_dump(mode="json") for row in rows]


def _signatures(session: Session, codes: list[str], steps: list[StepOut]) -> list[dict[str, Any]]:
    """The e-signatures on the exported records: signer, meaning, time, signed hash, still valid or not."""
    refs = [f"item:{code}" for code in codes] + [f"step:{step.id}" for step in steps]
    return [
        signature.model_dump(mode="json")
        for ref in refs
        for signature in signatures_of(session, load_record(session, ref, SIGNABLE))
    ]


def _raw_files(session: Session, items: list[Item]) -> list[RawFile]:
    """The cycler files of the exported items' test runs (voided runs too: the archive is the record)."""
    codes = {item.id: item.code for item in items}
    rows = session.exec(
        select(TestRun, StoredFile)
        .join(StoredFile, col(StoredFile.id) == col(TestRun.file_id))
        .where(col(TestRun.item_id).in_(list(codes)))
        .order_by(col(TestRun.id))
    ).all()
    return [
        RawFile(
            codes[run.item_id], run.id or 0, run.protocol, file.sha256, file.name, file.media_type, file.size
        )
        for run, file in rows
    ]


def _steps_of(
    session: Session,
    items: list[Item],
    links: list[LineageEdge],
    direction: Direction,
    depths: dict[str, int],
    max_depth: int | None,
) -> list[StepOut]:
    """The steps between the exported items, plus (upstream) the steps that made an item without inputs.

    A step with no inputs leaves no link, so the link list alone would miss it; an item at the depth limit
    keeps its producing step out, like the lineage it came from.
    """
    step_ids = {link.step for link in links}
    if direction == "up":
        step_ids |= {
            item.produced_by_step_id
            for item in items
            if item.produced_by_step_id is not None and (max_depth is None or depths[item.code] < max_depth)
        }
    return [step_out(session, get_step(session, step_id)) for step_id in sorted(step_ids)]


def gather(
    session: Session, code: str, direction: Direction, max_depth: int | None, api_url: str
) -> Provenance:
    """Everything an export of `code` holds; raises NotFound for an unknown code."""
    lineage = trace(session, code, direction, max_depth)
    depths = {node.code: node.depth for node in lineage.nodes}
    rows = list(session.exec(select(Item).where(col(Item.code).in_(list(depths)))).all())
    rows.sort(key=lambda item: (depths[item.code], item.code))
    steps = _steps_of(session, rows, lineage.edges, direction, depths, max_depth)
    items = [item_out(session, item) for item in rows]

    usernames = {step.operator for step in steps} | {item.created_by for item in items}
    users = session.exec(select(User).where(col(User.username).in_(sorted(usernames)))).all()
    codes = [item.code for item in rows]
    return Provenance(
        root=code,
        direction=direction,
        max_depth=max_depth,
        api_url=api_url.rstrip("/"),
        exported_at=utcnow(),
        items=items,
        depths=depths,
        links=lineage.edges,
        steps=steps,
        people={user.username: Person(user.username, user.full_name, user.role) for user in users},
        audit=_audit_excerpt(session, codes, steps),
        signatures=_signatures(session, codes, steps),
        raw_files=_raw_files(session, rows),
    )
