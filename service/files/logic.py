"""Storing uploads: the bytes go to the file store, one row per distinct content goes to the database."""

from collections.abc import Iterator
from contextlib import closing
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from sqlmodel import Session, select

from schemas.files import FileOut
from service.auth.tables import User
from service.config import Settings
from service.db import utcnow
from service.errors import Invalid, NotFound, problem
from service.files.intake import FileTooLarge, Intake
from service.files.local import LocalStore
from service.files.s3 import S3Store
from service.files.sniff import looks_zipped, sniff_media_type
from service.files.store import CHUNK, SHA256_HEX, FileStore, Stored
from service.files.tables import StoredFile
from service.work import note_event

__all__ = ["FileTooLarge", "Intake"]  # what routes need to take uploads in


def store_for(settings: Settings) -> FileStore:
    """The store the settings name: CELLPROV_FILES_URL=s3://bucket/prefix, else the folder files_dir."""
    url = settings.files_url
    if url and url.startswith("s3://"):
        return _s3(url)
    return LocalStore(Path(url.removeprefix("file://")) if url else settings.files_dir)


@lru_cache
def _s3(url: str) -> FileStore:
    # One client per process and bucket: making a boto3 client costs tens of milliseconds.
    return S3Store.from_url(url)


def move_old_attachments(settings: Settings) -> int:
    """Installs from before the one store kept entry attachments as files_dir/ab/<sha256>: moved into the
    store's layout at start (service.bootstrap). An S3 store never had them; returns how many moved."""
    store = store_for(settings)
    return store.move_old_attachments() if isinstance(store, LocalStore) else 0


def media_type(arriving: Intake, stored: Stored) -> str:
    """Sniffed from the first bytes; a zip is opened (from a local copy) to tell a workbook from an .ndax."""
    if not looks_zipped(stored.head):
        return sniff_media_type(stored.head, None)
    with arriving.local_copy(stored) as path:
        return sniff_media_type(stored.head, path)


def safe_name(name: str | None) -> str:
    """Only the last part of a client-given file name, and never an empty one."""
    base = Path((name or "").replace("\\", "/")).name.strip()
    return base[:255] or "upload"


def chunks_of(store: FileStore, sha256: str, start: int = 0, length: int | None = None) -> Iterator[bytes]:
    """A stored file (or `length` bytes of it from `start`) as a download's body, a chunk at a time."""
    with closing(store.open(sha256, start, length)) as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def disposition(name: str) -> str:
    """Content-Disposition of a download: always an attachment (never rendered in our origin), its name kept
    whatever characters it has (RFC 6266 filename*, as Starlette's FileResponse writes it)."""
    quoted = quote(name)
    return f'attachment; filename="{name}"' if quoted == name else f"attachment; filename*=utf-8''{quoted}"


def record(session: Session, user: User, stored: Stored, name: str | None, media_type: str) -> StoredFile:
    """The file row for these bytes, made the first time they arrive."""
    existing = session.exec(select(StoredFile).where(StoredFile.sha256 == stored.sha256)).first()
    if existing is not None:
        return existing
    assert user.id is not None
    row = StoredFile(
        sha256=stored.sha256,
        size=stored.size,
        media_type=media_type,
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
