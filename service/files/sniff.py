"""The media type of a blob, sniffed from its first bytes rather than trusted from the uploader."""

import zipfile
from pathlib import Path

_MAGIC: list[tuple[bytes, str]] = [
    (b"NEWARE", "application/vnd.neware.nda"),
    (b"BIO-LOGIC MODULAR FILE", "application/vnd.biologic.mpr"),
    (b"\x00\x01\x00\x00Standard Jet DB", "application/x-msaccess"),
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"GIF8", "image/gif"),
    (b"PAR1", "application/vnd.apache.parquet"),
]


def looks_zipped(head: bytes) -> bool:
    return head.startswith(b"PK\x03\x04")


def _zip_type(path: Path | None) -> str:
    if path is None:
        return "application/zip"
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return "application/zip"
    if "xl/workbook.xml" in names:
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    if any(name.lower().endswith(".ndc") for name in names):
        return "application/vnd.neware.ndax"
    return "application/zip"


def _looks_textual(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    for encoding in ("utf-8", "cp1252"):
        try:
            head.decode(encoding)
            return True
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the end of the sniffed head is still text.
            if encoding == "utf-8" and exc.start >= len(head) - 3:
                return True
    return False


def sniff_media_type(head: bytes, path: Path | None) -> str:
    """`path`: the whole content on disk, needed (and given) only when the head is a zip's."""
    for magic, media_type in _MAGIC:
        if head.startswith(magic):
            return media_type
    if looks_zipped(head):
        return _zip_type(path)
    if _looks_textual(head):
        lines = [line for line in head.split(b"\n")[:6] if line.strip()][:5]
        # A table: the same non-zero number of separators on each of its first lines.
        for separator, media_type in (
            (b"\t", "text/tab-separated-values"),
            (b",", "text/csv"),
            (b";", "text/csv"),
        ):
            counts = {line.count(separator) for line in lines[:-1] or lines}
            if len(lines) >= 2 and len(counts) == 1 and counts != {0}:
                return media_type
        return "text/plain"
    return "application/octet-stream"
