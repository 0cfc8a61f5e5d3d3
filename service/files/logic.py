"""Storing uploads: the bytes go to the blob store, one row per distinct content goes to the database."""

from pathlib import Path
from typing import BinaryIO

from sqlmodel import Session, select

from schemas.files import FileOut
from service.auth.tables import User
from service.config import Settings
from service.db import utcnow
from service.errors import Invalid, NotFound, problem
from service.files.sniff import sniff_media_type
from service.files.store import SHA256_HEX, BlobStore, LocalStore, Stored, TooLarge
from service.files.tables import StoredFile
from service.work import note_event


class FileTooLarge(Invalid):
    status, slug, title = 413, "too-large", "The file is too large"


def store_for(settings: Settings) -> BlobStore:
    return LocalStore(settings.files_dir)


def receive(store: BlobStore, stream: BinaryIO, max_bytes: int, pointer: str = "/file") -> Stored:
    """Write an upload to the blob store (outside any transaction: a blob with no row is harmless)."""
    try:
        return store.put(stream, max_bytes)
    except TooLarge as exc:
        raise FileTooLarge(
            f"files are limited to {exc.limit} bytes",
            [problem(pointer, "the upload is larger than the limit", expected=f"<= {exc.limit} bytes")],
        ) from None


def safe_name(name: str | None) -> str:
    """Only the last part of a client-given file name, and never an empty one."""
    base = Path((name or "").replace("\\", "/")).name.strip()
    return base[:255] or "upload"


def record(session: Session, store: BlobStore, user: User, stored: Stored, name: str | None) -> StoredFile:
    """The file row for these bytes, made the first time they arrive."""
    existing = session.exec(select(StoredFile).where(StoredFile.sha256 == stored.sha256)).first()
    if existing is not None:
        return existing
    assert user.id is not None
    row = StoredFile(
        sha256=stored.sha256,
        size=stored.size,
        media_type=sniff_media_type(stored.head, store.path(stored.sha256)),
        name=safe_name(name),
        created_at=utcnow(),
        created_by_id=user.id,
    )
    session.add(row)
    session.flush()
    note_event(
        session,
        "file.stored",
        "file",
        row.sha256,
        data={"name": row.name, "size": row.size, "media_type": row.media_type},
    )
    return row


def get_file(session: Session, sha256: str) -> StoredFile:
    digest = sha256.lower()
    if not SHA256_HEX.match(digest):
        raise Invalid(
            "not a SHA-256 digest",
            [problem("path:sha256", "64 hexadecimal characters", got=sha256[:80])],
        )
    row = session.exec(select(StoredFile).where(StoredFile.sha256 == digest)).first()
    if row is None:
        raise NotFound(f"no file {digest}")
    return row


def file_out(session: Session, row: StoredFile) -> FileOut:
    author = session.get(User, row.created_by_id)
    return FileOut(
        sha256=row.sha256,
        size=row.size,
        media_type=row.media_type,
        name=row.name,
        created_at=row.created_at,
        created_by=author.username if author else "?",
        url=f"/files/{row.sha256}",
    )
