"""The file store as a local folder: root/ab/cd/<sha256>, staged under root/.staging/ first.

Promoting is a rename, which is atomic: a file is complete under its digest or absent, and the same content
promoted twice is harmless.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, cast

from service.files.store import Hashing, Missing, Stored, checked, digest_key

STAGING = ".staging"


class LocalStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, sha256: str) -> Path:
        return self.root / digest_key(sha256)

    def _staged(self, stored: Stored) -> Path:
        name = Path(stored.staged).name
        if not name.startswith(".upload-"):
            raise ValueError("not a staged upload")
        return self.root / STAGING / name

    def stage(self, stream: BinaryIO, max_bytes: int) -> Stored:
        (self.root / STAGING).mkdir(parents=True, exist_ok=True)
        hashing = Hashing(stream, max_bytes)
        handle, temporary = tempfile.mkstemp(dir=self.root / STAGING, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in hashing.chunks():
                    out.write(chunk)
        except BaseException:
            os.unlink(temporary)
            raise
        return hashing.stored(os.path.basename(temporary))

    def promote(self, stored: Stored) -> None:
        if not stored.staged:
            return
        staged, target = self._staged(stored), self._path(stored.sha256)
        if target.is_file():
            staged.unlink(missing_ok=True)
        elif staged.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)

    def discard(self, stored: Stored) -> None:
        if stored.staged:
            self._staged(stored).unlink(missing_ok=True)

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def size(self, sha256: str) -> int | None:
        path = self._path(sha256)
        return path.stat().st_size if path.is_file() else None

    def open(self, sha256: str, start: int = 0, length: int | None = None) -> BinaryIO:
        handle = self._path(sha256).open("rb")
        handle.seek(start)
        return handle if length is None else cast(BinaryIO, _Window(handle, length))

    @contextmanager
    def local_copy(self, stored: Stored | str) -> Iterator[Path]:
        # The folder is already local: the parser reads the stored file itself (and must not change it).
        if isinstance(stored, Stored) and stored.staged:
            yield self._staged(stored)
            return
        sha256 = checked(stored if isinstance(stored, str) else stored.sha256)
        if not self._path(sha256).is_file():
            raise Missing(sha256)
        yield self._path(sha256)

    def move_old_attachments(self) -> int:
        """Attachments stored before there was one store, as root/ab/<sha256>: moved into root/ab/cd/<sha256>.
        Returns how many moved; run at every start, it finds none the second time."""
        moved = 0
        for folder in self.root.glob("[0-9a-f][0-9a-f]"):
            for old in folder.iterdir():
                if len(old.name) == 64 and old.is_file() and old.name.startswith(folder.name):
                    target = self._path(old.name)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if target.is_file():
                        old.unlink()
                    else:
                        shutil.move(old, target)
                    moved += 1
        return moved


class _Window:
    """At most `length` bytes of an open file, from where it stands: the answer to a ranged read."""

    def __init__(self, handle: BinaryIO, length: int):
        self.handle, self.left = handle, length

    def read(self, n: int = -1) -> bytes:
        n = self.left if n is None or n < 0 else min(n, self.left)
        chunk = self.handle.read(n)
        self.left -= len(chunk)
        return chunk

    def close(self) -> None:
        self.handle.close()

    def __enter__(self) -> "_Window":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
