"""The rules for notebook entries: links must name real records, corrections need a reason, voids keep all."""

from collections.abc import Callable, Sequence
from typing import Any

from sqlmodel import Session, col, delete, select

from schemas import ProblemItem, Role
from schemas.entries import Attachment, AttachmentRef, EntryIn, EntryOut, EntryPatch
from schemas.entries import EntryVersion as EntryVersionOut
from service import versions
from service.analyses.logic import get_analysis
from service.auth.tables import User
from service.cycling.logic import get_test
from service.db import utcnow
from service.entries.attachments import Upload
from service.entries.tables import Entry, EntryAttachment, EntryLink, EntryTag, EntryVersion
from service.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    problem,
)
from service.files.store import FileStore
from service.items import logic as items
from service.steps import logic as steps
from service.versions import diff
from service.work import note_event

ACTIVE, VOIDED = "active", "voided"


def _item_exists(session: Session, code: str) -> None:
    items.get_item(session, code)


def _step_exists(session: Session, key: str) -> None:
    steps.get_step(session, int(key) if key.isdigit() else -1)


def _test_run_exists(session: Session, key: str) -> None:
    get_test(session, int(key) if key.isdigit() else -1)


def _analysis_exists(session: Session, key: str) -> None:
    get_analysis(session, int(key) if key.isdigit() else -1)


# The kinds of record an entry can link to, each with the check that one exists (raising NotFound).
LINKABLE: dict[str, Callable[[Session, str], None]] = {
    "item": _item_exists,
    "step": _step_exists,
    "test_run": _test_run_exists,
    "analysis": _analysis_exists,
}


# --- reading ----------------------------------------------------------------------------------------------


def get_entry(session: Session, entry_id: int) -> Entry:
    entry = session.get(Entry, entry_id)
    if entry is None:
        raise NotFound(f"no entry {entry_id}")
    return entry


def entry_out(session: Session, entry: Entry) -> EntryOut:
    author = session.get(User, entry.author_id)
    assert author is not None and entry.id is not None
    links = session.exec(
        select(EntryLink).where(EntryLink.entry_id == entry.id).order_by(col(EntryLink.id))
    ).all()
    tags = session.exec(select(EntryTag.tag).where(EntryTag.entry_id == entry.id).order_by(col(EntryTag.id)))
    attached = session.exec(
        select(EntryAttachment).where(EntryAttachment.entry_id == entry.id).order_by(col(EntryAttachment.id))
    ).all()
    return EntryOut(
        id=entry.id,
        version=entry.version,
        status=entry.status,
        title=entry.title,
        body=entry.body,
        date=entry.entry_date,
        tags=list(tags.all()),
        links=[f"{link.record_type}:{link.record_id}" for link in links],
        attachments=[
            Attachment(sha256=a.sha256, name=a.name, media_type=a.media_type, size=a.size) for a in attached
        ],
        author=author.username,
        author_name=author.full_name,
        created_at=entry.created_at,
        updated_at=entry.updated_at,
        void_reason=entry.void_reason,
    )


def etag_of(entry: EntryOut | Any) -> str:
    return f'"{entry.version}"'


# --- versions ---------------------------------------------------------------------------------------------


def _record_version(session: Session, entry: Entry, action: str, user: User, reason: str | None) -> None:
    session.flush()
    assert entry.id is not None and user.id is not None
    state = entry_out(session, entry).model_dump(mode="json", exclude={"signatures"})
    session.add(
        EntryVersion(
            entry_id=entry.id,
            version=entry.version,
            action=action,
            at=entry.updated_at,
            by_id=user.id,
            reason=reason,
            state=state,
        )
    )
    before = session.exec(
        select(EntryVersion.state).where(
            EntryVersion.entry_id == entry.id, EntryVersion.version == entry.version - 1
        )
    ).first()
    note_event(
        session,
        f"entry.{action}",
        "entry",
        entry.id,
        version=entry.version,
        data=state,
        changes=diff(dict(before), state) if before else None,
        reason=reason,
    )


def history(session: Session, entry: Entry) -> list[EntryVersionOut]:
    rows = session.exec(
        select(EntryVersion, User.username)
        .join(User)
        .where(EntryVersion.entry_id == entry.id)
        .order_by(col(EntryVersion.version))
    ).all()
    return versions.listed(rows, EntryVersionOut)


# --- writing ----------------------------------------------------------------------------------------------


def _check_links(session: Session, links: list[str]) -> list[ProblemItem]:
    problems = []
    for n, link in enumerate(links):
        kind, _, key = link.partition(":")
        exists = LINKABLE.get(kind)
        if exists is None:
            problems.append(
                problem(f"/links/{n}", f"entries cannot link to {kind!r} records", sorted(LINKABLE), link)
            )
            continue
        try:
            exists(session, key)
        except NotFound as missing:
            problems.append(problem(f"/links/{n}", missing.detail, got=link))
    return problems


def _attachments(
    store: FileStore, refs: list[AttachmentRef], uploads: list[Upload]
) -> tuple[list[Attachment], list[ProblemItem]]:
    """The attachments as stored: referenced files must be in the store; uploads are staged in it already."""
    found, problems = [], []
    for n, ref in enumerate(refs):
        size = store.size(ref.sha256)
        if size is None:
            problems.append(problem(f"/attachments/{n}/sha256", "no file with this SHA-256", got=ref.sha256))
        else:
            found.append(Attachment(sha256=ref.sha256, name=ref.name, media_type=ref.media_type, size=size))
    if problems:
        return [], problems
    for upload in uploads:
        stored = upload.stored
        found.append(
            Attachment(sha256=stored.sha256, name=upload.name, media_type=upload.media_type, size=stored.size)
        )
    return found, []


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _write_parts(
    session: Session, entry: Entry, links: list[str], tags: list[str], attached: list[Attachment] | None
) -> None:
    assert entry.id is not None
    session.exec(delete(EntryLink).where(col(EntryLink.entry_id) == entry.id))
    session.exec(delete(EntryTag).where(col(EntryTag.entry_id) == entry.id))
    for link in _unique(links):
        record_type, _, record_id = link.partition(":")
        session.add(EntryLink(entry_id=entry.id, record_type=record_type, record_id=record_id))
    for tag in _unique(tags):
        session.add(EntryTag(entry_id=entry.id, tag=tag))
    if attached is not None:
        session.exec(delete(EntryAttachment).where(col(EntryAttachment.entry_id) == entry.id))
        for a in attached:
            session.add(
                EntryAttachment(
                    entry_id=entry.id, sha256=a.sha256, name=a.name, media_type=a.media_type, size=a.size
                )
            )


def create_entry(
    session: Session, user: User, body: EntryIn, store: FileStore, uploads: Sequence[Upload] = ()
) -> Entry:
    problems = _check_links(session, body.links)
    attached, missing = _attachments(store, body.attachments, []) if not problems else ([], [])
    problems += missing
    if problems:
        raise Invalid("the entry cannot be written", problems)
    attached += _attachments(store, [], list(uploads))[0]
    assert user.id is not None
    now = utcnow()
    entry = Entry(
        title=body.title,
        body=body.body,
        entry_date=body.date or now.date(),
        author_id=user.id,
        created_at=now,
        updated_at=now,
    )
    session.add(entry)
    session.flush()
    _write_parts(session, entry, body.links, body.tags, attached)
    _record_version(session, entry, "created", user, None)
    return entry


def _check_may_change(user: User, entry: Entry) -> None:
    if entry.author_id != user.id and user.role != Role.admin:
        raise Forbidden("only the author of an entry (or an admin) corrects or voids it")


def check_if_match(entry: Entry, if_match: str | None) -> None:
    versions.check_if_match(f"entry {entry.id}", entry.version, if_match)


def correct_entry(
    session: Session,
    user: User,
    entry_id: int,
    patch: EntryPatch,
    if_match: str | None,
    store: FileStore,
    uploads: list[Upload] = (),  # type: ignore[assignment]
) -> Entry:
    """A new version of the entry with a reason; uploads are added to its attachments."""
    entry = get_entry(session, entry_id)
    check_if_match(entry, if_match)
    _check_may_change(user, entry)
    if entry.status == VOIDED:
        raise Conflict(f"entry {entry_id} is voided; a voided entry is not corrected")
    current = entry_out(session, entry)
    given = patch.model_fields_set
    links = patch.links if patch.links is not None else current.links
    tags = patch.tags if patch.tags is not None else current.tags
    problems = _check_links(session, links) if "links" in given else []
    attached: list[Attachment] | None = None
    if "attachments" in given or uploads:
        if patch.attachments is not None:
            attached, missing = _attachments(store, patch.attachments, [])
            problems += missing
        else:
            attached = list(current.attachments)
    if problems:
        raise Invalid(f"the correction of entry {entry_id} is not valid", problems)
    if uploads:
        assert attached is not None
        attached += _attachments(store, [], list(uploads))[0]
    if patch.title is not None:
        entry.title = patch.title
    if patch.body is not None:
        entry.body = patch.body
    if patch.date is not None:
        entry.entry_date = patch.date
    _write_parts(session, entry, links, tags, attached)
    entry.version += 1
    entry.updated_at = utcnow()
    session.add(entry)
    _record_version(session, entry, "corrected", user, patch.reason)
    return entry


def void_entry(session: Session, user: User, entry_id: int, reason: str) -> Entry:
    entry = get_entry(session, entry_id)
    _check_may_change(user, entry)
    if entry.status == VOIDED:
        raise Conflict(
            f"entry {entry_id} is already voided", [problem("/reason", f"voided before: {entry.void_reason}")]
        )
    entry.status, entry.void_reason = VOIDED, reason
    entry.version += 1
    entry.updated_at = utcnow()
    session.add(entry)
    _record_version(session, entry, "voided", user, reason)
    return entry


def attachment_of(session: Session, entry: Entry, sha256: str) -> EntryAttachment:
    row = session.exec(
        select(EntryAttachment).where(EntryAttachment.entry_id == entry.id, EntryAttachment.sha256 == sha256)
    ).first()
    if row is None:
        raise NotFound(f"entry {entry.id} has no attachment {sha256}")
    return row
