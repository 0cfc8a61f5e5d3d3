"""Opening an uploaded .eln archive without trusting it: a zip whose members all sit inside one folder,
within the size and count limits of Settings, with a readable `ro-crate-metadata.json` whose `@graph` is a
list of nodes. Every refusal is a 4xx problem raised before anything is written."""

import hashlib
import json
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, Any

from service.config import Settings
from service.errors import DomainError, Invalid, problem

DESCRIPTOR = "ro-crate-metadata.json"
_DRIVE = re.compile(r"^[A-Za-z]:")
CHUNK = 1024 * 1024

# What a damaged member raises: a corrupt deflate stream, a bad CRC, an unsupported method, encryption.
UNPACK_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
)
try:  # fastnda brings isal, which replaces zipfile's inflater: its IsalError is none of the above.
    from isal import igzip_lib

    UNPACK_ERRORS += (igzip_lib.IsalError,)  # type: ignore[operator]  # isal's stub calls it an instance
except ImportError:
    pass


class ArchiveTooLarge(DomainError):
    status, slug, title = 413, "archive-too-large", "Archive too large"


@dataclass
class Crate:
    """An archive's graph and where its members are; bytes are read member by member, on demand."""

    sha256: str
    zip: zipfile.ZipFile
    base: str
    """The folder the descriptor sits in ("" or "top/"), which the crate's relative @ids start from."""
    nodes: dict[str, dict[str, Any]]
    duplicates: list[str] = field(default_factory=list)
    limit: int = 0

    def member(self, entity_id: str) -> zipfile.ZipInfo | None:
        """The zip member a data entity's @id names, if the archive holds it (never outside the folder)."""
        if "://" in entity_id or entity_id.startswith(("#", "/")):
            return None
        name = self.base + entity_id.removeprefix("./")
        try:
            info = self.zip.getinfo(name)
        except KeyError:
            return None
        return None if info.is_dir() else info

    def read(self, info: zipfile.ZipInfo) -> bytes:
        """A member's bytes, stopping at its declared size: a lying header cannot unpack more."""
        try:
            with self.zip.open(info) as source:
                content = source.read(min(info.file_size, self.limit) + 1)
        except UNPACK_ERRORS as exc:
            raise _refuse(
                f"{info.filename} cannot be unpacked", "an intact zip member", got=str(exc)[:200]
            ) from exc
        if len(content) > info.file_size:
            raise Invalid(
                "an archive member is larger than its header says", [problem("/file", info.filename)]
            )
        return content


def _refuse(detail: str, expected: str, got: Any = None) -> Invalid:
    return Invalid(f"not a readable .eln archive: {detail}", [problem("/file", expected, got=got)])


def _check_names(infos: list[zipfile.ZipInfo]) -> None:
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name).parts
        if name.startswith(("/", "\\")) or "\\" in name or ".." in parts or _DRIVE.match(name) is not None:
            raise _refuse("a member's name leaves the archive", "relative names inside one folder", got=name)


def open_crate(upload: IO[bytes], settings: Settings) -> Crate:
    """Check the archive and read its metadata; the upload stays open (the zip reads from it)."""
    digest = hashlib.sha256()
    upload.seek(0)
    while chunk := upload.read(CHUNK):
        digest.update(chunk)
    upload.seek(0)
    try:
        archive = zipfile.ZipFile(upload)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _refuse("it is not a zip file", "a zip archive (.eln)", got=str(exc)[:200]) from exc
    if len(infos) > settings.eln_max_members:
        raise ArchiveTooLarge(
            f"the archive has {len(infos)} members; at most {settings.eln_max_members} are taken",
            [problem("/file", f"at most {settings.eln_max_members} members", got=len(infos))],
        )
    unpacked = sum(info.file_size for info in infos)
    if unpacked > settings.eln_max_unpacked_bytes:
        raise ArchiveTooLarge(
            f"the archive unpacks to {unpacked} bytes; at most {settings.eln_max_unpacked_bytes} are taken",
            [problem("/file", f"at most {settings.eln_max_unpacked_bytes} bytes unpacked", got=unpacked)],
        )
    _check_names(infos)
    descriptors = sorted(
        (
            i
            for i in infos
            if PurePosixPath(i.filename).name == DESCRIPTOR and len(PurePosixPath(i.filename).parts) <= 2
        ),
        key=lambda i: len(i.filename),
    )
    if not descriptors:
        raise _refuse(f"there is no {DESCRIPTOR}", f"{DESCRIPTOR} at the top or in the one top folder")
    descriptor = descriptors[0]
    if descriptor.file_size > settings.eln_max_metadata_bytes:
        raise ArchiveTooLarge(
            f"{DESCRIPTOR} is {descriptor.file_size} bytes; at most {settings.eln_max_metadata_bytes}",
            [problem("/file", f"at most {settings.eln_max_metadata_bytes} bytes", got=descriptor.file_size)],
        )
    crate = Crate(digest.hexdigest(), archive, descriptor.filename[: -len(DESCRIPTOR)], {})
    crate.limit = settings.eln_max_metadata_bytes
    try:
        raw = crate.read(descriptor)
        metadata = json.loads(raw)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RecursionError) as exc:
        raise _refuse(f"{DESCRIPTOR} cannot be read as JSON", "UTF-8 JSON-LD", got=str(exc)[:200]) from exc
    crate.limit = settings.eln_max_unpacked_bytes
    graph = metadata.get("@graph") if isinstance(metadata, dict) else None
    if not isinstance(graph, list):
        raise _refuse(f"{DESCRIPTOR} has no @graph list", "a JSON object with an @graph list")
    if len(graph) > settings.eln_max_entities:
        raise ArchiveTooLarge(
            f"the crate describes {len(graph)} entities; at most {settings.eln_max_entities} are taken",
            [problem("/file", f"at most {settings.eln_max_entities} entities", got=len(graph))],
        )
    for node in graph:
        if not isinstance(node, dict) or not isinstance(node.get("@id"), str):
            continue
        if node["@id"] in crate.nodes:
            crate.duplicates.append(node["@id"])
            continue
        crate.nodes[node["@id"]] = node
    return crate
