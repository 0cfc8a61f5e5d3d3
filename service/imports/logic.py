"""Applying an import: every operation through the domain functions a single request uses, all or nothing."""

import json
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session

from schemas import ProblemItem
from schemas.imports import (
    MAX_OPERATIONS,
    ImportIn,
    ImportOperation,
    ImportOut,
    LogStepOperation,
    ReceiveLotOperation,
    RecordAnalysisOperation,
    TestRunIn,
)
from service.analyses import logic as analyses
from service.audit import logic as audit
from service.auth.tables import User
from service.cycling import logic as cycling
from service.cycling.readers import Records
from service.cycling.summary import Summary
from service.errors import DomainError, Invalid, NotFound, problem
from service.files import logic as files
from service.files.store import FileStore
from service.files.tables import StoredFile
from service.items import logic as items
from service.steps import logic as steps
from service.work import note_event

NDJSON = "application/x-ndjson"
_ONE = TypeAdapter(ImportOperation)


class OperationRefused(DomainError):
    """One operation of an import was refused; the whole import is rolled back. Keeps the status of the
    refusal (422 invalid, 404, 409 conflict) and points into the operation that caused it."""

    def __init__(self, index: int, op: str, refused: DomainError):
        super().__init__(
            f"operation {index} ({op}) was refused, nothing was imported: {refused.detail}",
            [_inside(index, op, e) for e in refused.errors] or [problem(f"/{index}", refused.detail)],
        )
        self.status, self.slug, self.title = refused.status, refused.slug, refused.title
        self.index = index


# Each operation's body sits under this key: {"op": "log_step", "step": {...}}.
_PART = {"receive_lot": "lot", "log_step": "step", "record_test": "test", "record_analysis": "analysis"}


def _inside(index: int, op: str, error: ProblemItem) -> ProblemItem:
    part = _PART[op]
    pointer = error.pointer if error.pointer.startswith("/") else ""
    return error.model_copy(update={"pointer": f"/{index}/{part}{pointer}".rstrip("/")})


def _pointer(index: int, loc: tuple[Any, ...]) -> str:
    # A discriminated union puts the tag ("log_step") into the location; the body has no such level.
    path = [p for n, p in enumerate(loc) if not (n == 0 and p in _PART)]
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in [index, *path])


def parse(body: bytes, content_type: str) -> ImportIn:
    """The operations of a JSON list or an NDJSON body; every malformed operation is named by its index."""
    try:
        if content_type.split(";")[0].strip().lower() == NDJSON:
            raw = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        else:
            raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(
            "the body is not JSON (a list of operations) or NDJSON", [problem("/", str(exc))]
        ) from exc
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_OPERATIONS:
        raise Invalid(
            "an import is a list of operations",
            [problem("/", f"a list of 1 to {MAX_OPERATIONS} operations", got=type(raw).__name__)],
        )
    problems: list[ProblemItem] = []
    operations = []
    for index, entry in enumerate(raw):
        try:
            operations.append(_ONE.validate_python(entry))
        except ValidationError as exc:
            problems += [
                problem(_pointer(index, tuple(e["loc"])), e["msg"]) for e in exc.errors(include_url=False)
            ]
    if problems:
        raise Invalid(f"{len(problems)} problem(s) in the operations; nothing was imported", problems)
    return ImportIn(operations)


def _record_test(
    session: Session,
    user: User,
    store: FileStore,
    test: TestRunIn,
    read: dict[tuple[str, str], tuple[StoredFile, Records, Summary]],
) -> None:
    """A test run of a stored file. The file is looked up and read once per import and options: a batch of
    cells tested with one file (or the same file named again) costs one parse, and each run still gets its
    own rows."""
    key = (test.file, test.options.model_dump_json())
    if key not in read:
        try:
            stored = files.get_file(session, test.file)
        except NotFound:
            raise Invalid(
                "the test run names a file that is not stored",
                [problem("/file", "upload it with POST /files first", got=test.file)],
            ) from None
        with store.local_copy(stored.sha256) as path:
            read[key] = (stored, *cycling.read_and_summarise(path, test.options, test.protocol))
    stored, records, summary = read[key]
    cycling.record_test(session, user, test.cell, test.protocol, test.options, stored, records, summary)


def apply(session: Session, user: User, body: ImportIn, store: FileStore, *, max_outputs: int) -> ImportOut:
    """Run each operation as its own request would (template check, inventory, closure, audit events), in the
    caller's transaction. The first refusal stops the import; the caller's rollback undoes the rest."""
    counts = {"lots": 0, "steps": 0, "items_made": 0, "test_runs": 0, "analyses": 0}
    read: dict[tuple[str, str], tuple[StoredFile, Records, Summary]] = {}
    for index, operation in enumerate(body.root):
        try:
            if isinstance(operation, ReceiveLotOperation):
                items.receive_lot(session, user, operation.lot)
                counts["lots"] += 1
                counts["items_made"] += 1
            elif isinstance(operation, LogStepOperation):
                steps.log_step(session, user, operation.step, max_outputs=max_outputs)
                counts["steps"] += 1
                counts["items_made"] += sum(output.count for output in operation.step.outputs)
            elif isinstance(operation, RecordAnalysisOperation):
                analyses.record_analysis(session, user, operation.analysis)
                counts["analyses"] += 1
            else:
                _record_test(session, user, store, operation.test, read)
                counts["test_runs"] += 1
        except DomainError as refused:
            raise OperationRefused(index, operation.op, refused) from refused
    summary = {"operations": len(body.root), **counts}
    note_event(session, "import.applied", "import", user.username, data=summary)
    return ImportOut(**summary, events=audit.pending_count(session))
