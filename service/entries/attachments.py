"""Files attached to entries: received into the one file store (service.files) by SHA-256, under a name.

An upload is staged in the request's `Intake` and kept only when the entry's transaction commits, so a
refused entry leaves no bytes behind.
"""

import mimetypes
import re
from dataclasses import dataclass
from typing import BinaryIO

from service.files.intake import Intake
from service.files.store import Stored

MAX_ATTACHMENT_BYTES = 50 * 1024 * 1024
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


@dataclass(frozen=True)
class Upload:
    """A file that came with a request, staged in the store and not yet kept."""

    name: str
    media_type: str
    stored: Stored


def receive(arriving: Intake, stream: BinaryIO, filename: str | None, content_type: str | None) -> Upload:
    """Stage one uploaded part (at most MAX_ATTACHMENT_BYTES, else 413), named as it is safe to show."""
    stored = arriving.put(stream, MAX_ATTACHMENT_BYTES, "/files")
    name = clean_name(filename)
    return Upload(name, media_type_of(name, content_type), stored)


def clean_name(name: str | None) -> str:
    """A file name safe to show and to send back in Content-Disposition: no folders, no control characters."""
    base = _UNSAFE_NAME.sub("_", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return (base or "attachment")[:255]


def media_type_of(name: str, declared: str | None) -> str:
    if declared and declared != "application/octet-stream" and re.fullmatch(r"[\w.+-]+/[\w.+-]+", declared):
        return declared
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"
