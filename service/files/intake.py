"""What one request brings to the file store: staged while the request runs, kept only if it commits.

    with Intake(store) as arriving:
        stored = arriving.put(upload.file, limit)      # streamed into a temporary object, hashed
        with arriving.local_copy(stored) as path: ...  # a parser reads it before anything is written
        ... commit the transaction that refers to stored.sha256 ...
        arriving.keep()                                # only now under its digest

Leaving the block without `keep()` (a refused request, an exception) discards what was staged, so a refused
request leaves no bytes behind. A crash between the commit and `keep()` leaves the bytes in the store's
staging area (.staging/), from where an operator can move them; the other order would let a refused request's
bytes be deleted under a concurrent request that stored the same content.
"""

from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO

from service.errors import Invalid, problem
from service.files.store import FileStore, Stored, TooLarge


class FileTooLarge(Invalid):
    status, slug, title = 413, "too-large", "The file is too large"


class Intake:
    def __init__(self, store: FileStore):
        self.store = store
        self.staged: list[Stored] = []

    def put(self, stream: BinaryIO, max_bytes: int, pointer: str = "/file") -> Stored:
        try:
            stored = self.store.stage(stream, max_bytes)
        except TooLarge as exc:
            raise FileTooLarge(
                f"files are limited to {exc.limit} bytes",
                [problem(pointer, "the upload is larger than the limit", expected=f"<= {exc.limit} bytes")],
            ) from None
        self.staged.append(stored)
        return stored

    def local_copy(self, stored: Stored) -> AbstractContextManager[Path]:
        return self.store.local_copy(stored)

    def keep(self) -> None:
        """The transaction committed: every staged upload goes under its digest."""
        while self.staged:
            self.store.promote(self.staged.pop())

    def discard(self) -> None:
        while self.staged:
            self.store.discard(self.staged.pop())

    def __enter__(self) -> "Intake":
        return self

    def __exit__(self, *_: object) -> None:
        self.discard()
