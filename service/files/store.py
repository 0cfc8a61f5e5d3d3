"""Where stored bytes live: one small interface, a local folder or an S3-compatible bucket behind it.

Every byte the service keeps (uploads, entry attachments, cycler files, calibration certificates) goes
through a `FileStore`, named by its SHA-256. Bytes arrive in two moves: `stage` streams them into a
temporary object while hashing (never the whole file in memory), and `promote` moves that object under its
digest once the request's transaction has committed, so a refused request leaves nothing behind
(`files.intake.Intake` does this for a request; a file that is never refused is staged and promoted at
once). Nothing hands out a path into the store: a parser that
needs a file on disk asks for `local_copy`.
"""

import hashlib
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from service.errors import NotFound

CHUNK = 1024 * 1024
HEAD = 4096
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class Missing(NotFound):
    """A file the database names whose bytes are not in the store (lost, or not restored from a backup)."""

    def __init__(self, sha256: str):
        super().__init__(f"the content of file {sha256} is missing from the store; restore it from backup")


class TooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    head: bytes
    """The first bytes of the content, for sniffing its media type."""
    staged: str = ""
    """The temporary object the bytes wait in until promoted; empty once they are under their digest."""


class FileStore(Protocol):
    def stage(self, stream: BinaryIO, max_bytes: int) -> Stored: ...

    def promote(self, stored: Stored) -> None: ...

    def discard(self, stored: Stored) -> None: ...

    def exists(self, sha256: str) -> bool: ...

    def size(self, sha256: str) -> int | None: ...

    def open(self, sha256: str, start: int = 0, length: int | None = None) -> BinaryIO: ...

    def local_copy(self, stored: "Stored | str") -> AbstractContextManager[Path]: ...


def checked(sha256: str) -> str:
    """Digest names are the only names a store hands out: nothing else reaches a folder or a bucket."""
    if not SHA256_HEX.match(sha256):
        raise ValueError("not a SHA-256 hex digest")
    return sha256


def digest_key(sha256: str) -> str:
    """The one layout, in a folder and in a bucket alike: ab/cd/<sha256>."""
    checked(sha256)
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


class Hashing:
    """A read-only stream over an upload that hashes, counts and keeps the head of what passes through it,
    refusing to read past `max_bytes`."""

    def __init__(self, stream: BinaryIO, max_bytes: int):
        self.stream, self.max_bytes = stream, max_bytes
        self.digest = hashlib.sha256()
        self.size = 0
        self.head = b""
        self.too_large: TooLarge | None = None

    def read(self, n: int = -1) -> bytes:
        chunk = self.stream.read(CHUNK if n is None or n < 0 else n)
        self.size += len(chunk)
        if self.size > self.max_bytes:
            # Kept as well as raised: a library reading this stream may wrap the exception in its own.
            self.too_large = TooLarge(self.max_bytes)
            raise self.too_large
        if len(self.head) < HEAD:
            self.head += chunk[: HEAD - len(self.head)]
        self.digest.update(chunk)
        return chunk

    def chunks(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK):
            yield chunk

    def stored(self, staged: str) -> Stored:
        return Stored(sha256=self.digest.hexdigest(), size=self.size, head=self.head, staged=staged)
