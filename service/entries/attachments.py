"""Attachment blobs on local disk, addressed by SHA-256: settings.files_dir/<sha256[:2]>/<sha256>.

A minimal content-addressed store for entry attachments until the shared file store (POST /files) lands;
it uses the same layout, so the two can be merged without moving any file.
"""

import hashlib
import mimetypes
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

MAX_ATTACHMENT_BYTES = 50 * 1024 * 1024
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


@dataclass(frozen=True)
class Upload:
    """A file that came with a request, before it is stored."""

    name: str
    media_type: str
    content: bytes


def blob_path(files_dir: Path, sha256: str) -> Path:
    return files_dir / sha256[:2] / sha256


def store(files_dir: Path, content: bytes) -> str:
    """Keep `content` (once, however often it is uploaded) and return its SHA-256.

    Written to a temporary file and renamed into place, so a reader never sees half a file. A blob whose entry
    then fails to commit stays on disk unreferenced: harmless, and reused if the same file comes again.
    """
    sha256 = hashlib.sha256(content).hexdigest()
    target = blob_path(files_dir, sha256)
    if target.exists():
        return sha256
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    with os.fdopen(handle, "wb") as file:
        file.write(content)
    os.replace(temporary, target)
    return sha256


def stored_size(files_dir: Path, sha256: str) -> int | None:
    path = blob_path(files_dir, sha256)
    return path.stat().st_size if path.is_file() else None


def clean_name(name: str | None) -> str:
    """A file name safe to show and to send back in Content-Disposition: no folders, no control characters."""
    base = _UNSAFE_NAME.sub("_", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return (base or "attachment")[:255]


def media_type_of(name: str, declared: str | None) -> str:
    if declared and declared != "application/octet-stream" and re.fullmatch(r"[\w.+-]+/[\w.+-]+", declared):
        return declared
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"
