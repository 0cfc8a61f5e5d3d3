"""Gathering what an export holds: the item, its lineage (items, links, steps), the people behind the steps.

Both renderers (PROV-JSON, .eln) work from the same `Provenance` record, so they always describe the same
graph: the one `GET /items/{code}/lineage` answers with the same direction and depth.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlmodel import Session, col, select

from schemas import ItemOut, LineageEdge, StepOut
from schemas.analyses import AnalysisOut
from schemas.cycling import CycleOut, TestRunOut
from schemas.entries import EntryOut
from service.analyses.logic import analyses_about, analyses_out
from service.audit.logic import event_of
from service.audit.queries import events_about
from service.auth.tables import User
from service.cycling.logic import cycles_of, get_test, run_out, tests_of_item
from service.db import utcnow
from service.entries.logic import entry_out
from service.entries.queries import entries_about
from service.errors import Invalid, problem
from service.files.tables import StoredFile
from service.items.logic import item_out
from service.items.tables import Item
from service.lineage.logic import trace
from service.lineage.queries import Direction
from service.signable import SIGNABLE
from service.signatures.logic import load_record, signatures_of, signed_refs
from service.steps.logic import steps_out
from service.steps.tables import Step

ExportFormat = Literal["prov-json", "eln"]

PARTS = ("tests", "raw", "cycles", "analyses", "files", "entries", "audit", "signatures")
"""What an export can carry beyond the items and steps: test runs (with their raw cycler files and per-cycle
data), analyses, the files of analyses and entries, notebook entries, the audit excerpt, the e-signatures."""


def parse_include(text: str | None) -> frozenset[str]:
    """`include=` as a set of parts: empty or `all` is every part; `-raw,-files` leaves parts out of all;
    `tests,entries` names exactly the parts wanted. Raw files and cycles come with test runs only."""
    words = [word.strip() for word in (text or "").split(",") if word.strip()]
    if not words or words == ["all"]:
        return frozenset(PARTS)
    unknown = [word for word in words if word.lstrip("-+") not in PARTS]
    if unknown:
        raise Invalid(
            "unknown export parts",
            [problem("query:include", f"one of {', '.join(PARTS)}, or -part to leave it out", got=unknown)],
        )
    if all(word.startswith("-") for word in words):
        return frozenset(PARTS) - {word[1:] for word in words}
    if any(word.startswith("-") for word in words):
        raise Invalid(
            "mixed export parts",
            [problem("query:include", "either a list of parts or a list of -parts, not both", got=text)],
        )
    return frozenset(word.lstrip("+") for word in words)


@dataclass(frozen=True)
class Person:
    username: str
    full_name: str
    role: str


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
    tests: list[TestRunOut] = field(default_factory=list)
    """The test runs of the exported items (cells), oldest first."""
    analyses: list[AnalysisOut] = field(default_factory=list)
    entries: list[EntryOut] = field(default_factory=list)
    """Notebook entries linked to an exported item, step, test run or analysis."""
    file_sizes: dict[str, int] = field(default_factory=dict)
    """Byte sizes of the analyses' stored files, by SHA-256 (their records do not carry it)."""
    include: frozenset[str] = frozenset(PARTS)
    read_cycles: Callable[[int], list[CycleOut]] = field(default=lambda _run: [])
    """The per-cycle data of a test run, read when a renderer writes it (so a recall export of thousands of
    cells does not hold every run's cycles at once)."""

    @property
    def codes(self) -> set[str]:
        return {item.code for item in self.items}


def _audit_excerpt(session: Session, codes: list[str], steps: list[StepOut]) -> list[dict[str, Any]]:
    """The audit events about the exported items and steps, oldest first, as the audit export writes them."""
    rows = events_about(session, codes, [step.id for step in steps])
    return [event_of(row).model_dump(mode="json") for row in rows]


def _signatures(session: Session, refs: list[str]) -> list[dict[str, Any]]:
    """The e-signatures on the exported records: signer, meaning, time, signed hash, still valid or not.
    Only the signed records are read (and hashed, to tell whether each signature still holds)."""
    signed = signed_refs(session, [ref for ref in refs if ref.partition(":")[0] in SIGNABLE])
    return [
        signature.model_dump(mode="json")
        for ref in refs
        if ref in signed
        for signature in signatures_of(session, load_record(session, ref, SIGNABLE))
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
    steps = session.exec(select(Step).where(col(Step.id).in_(step_ids)).order_by(col(Step.id))).all()
    return steps_out(session, steps)


def _tests_of(session: Session, codes: list[str]) -> list[TestRunOut]:
    return [run_out(session, run) for code in codes for run in tests_of_item(session, code)]


def _analyses_of(session: Session, items: list[Item]) -> list[AnalysisOut]:
    """Each analysis once, though it may study several of the exported items."""
    return analyses_out(session, analyses_about(session, [item.id or 0 for item in items]))


def _entries_of(session: Session, refs: list[str]) -> list[EntryOut]:
    """The entries linked to any exported record, each once, oldest first."""
    return [entry_out(session, entry) for entry in entries_about(session, refs)]


def gather(
    session: Session,
    code: str,
    direction: Direction,
    max_depth: int | None,
    api_url: str,
    include: frozenset[str] = frozenset(PARTS),
) -> Provenance:
    """Everything an export of `code` holds; raises NotFound for an unknown code."""
    lineage = trace(session, code, direction, max_depth)
    depths = {node.code: node.depth for node in lineage.nodes}
    rows = list(session.exec(select(Item).where(col(Item.code).in_(list(depths)))).all())
    rows.sort(key=lambda item: (depths[item.code], item.code))
    steps = _steps_of(session, rows, lineage.edges, direction, depths, max_depth)
    items = [item_out(session, item) for item in rows]

    usernames = {step.operator for step in steps} | {item.created_by for item in items}
    codes = [item.code for item in rows]
    tests = _tests_of(session, codes) if "tests" in include else []
    analyses = _analyses_of(session, rows) if "analyses" in include else []
    refs = (
        [f"item:{code}" for code in codes]
        + [f"step:{step.id}" for step in steps]
        + [f"test_run:{run.id}" for run in tests]
        + [f"analysis:{analysis.id}" for analysis in analyses]
    )
    entries = _entries_of(session, refs) if "entries" in include else []
    usernames |= {run.created_by for run in tests} | {a.created_by for a in analyses}
    usernames |= {entry.author for entry in entries}
    users = session.exec(select(User).where(col(User.username).in_(sorted(usernames)))).all()

    shas = sorted({f.sha256 for analysis in analyses for f in analysis.files})
    sizes = session.exec(select(StoredFile.sha256, StoredFile.size).where(col(StoredFile.sha256).in_(shas)))

    def read_cycles(run_id: int) -> list[CycleOut]:
        return cycles_of(session, get_test(session, run_id))

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
        audit=_audit_excerpt(session, codes, steps) if "audit" in include else [],
        signatures=_signatures(session, refs + [f"entry:{e.id}" for e in entries])
        if "signatures" in include
        else [],
        tests=tests,
        analyses=analyses,
        entries=entries,
        file_sizes=dict(sizes.all()),
        include=include,
        read_cycles=read_cycles,
    )
