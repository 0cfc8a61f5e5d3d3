"""Where blob bytes live: a small storage interface and its local-directory implementation.

The interface is deliberately tiny (put a stream, open by digest, ask if present) so an S3-compatible store
can
replace the directory without the rest of the service noticing.
"""

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK = 1024 * 1024
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


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


class BlobStore(Protocol):
    def put(self, stream: BinaryIO, max_bytes: int) -> Stored: ...

    def open(self, sha256: str) -> BinaryIO: ...

    def exists(self, sha256: str) -> bool: ...

    def path(self, sha256: str) -> Path: ...


class LocalStore:
    """Blobs as files under `root/ab/cd/<sha256>`, written to a temporary file first and renamed into place.

    Renaming is atomic, so a blob is either complete or absent; writing the same content twice is harmless,
    and
    an interrupted upload leaves no partial blob under a digest name.
    """

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not SHA256_HEX.match(sha256):
            # Digest names are the only names this store hands out: nothing else can reach the filesystem.
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        return self.path(sha256).open("rb")

    def put(self, stream: BinaryIO, max_bytes: int) -> Stored:
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        head = b""
        handle, temporary = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(max_bytes)
                    if len(head) < 4096:
                        head += chunk[: 4096 - len(head)]
                    digest.update(chunk)
                    out.write(chunk)
            sha256 = digest.hexdigest()
            target = self.path(sha256)
            if target.is_file():
                os.unlink(temporary)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temporary, target)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        return Stored(sha256=sha256, size=size, head=head)
