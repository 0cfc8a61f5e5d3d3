"""Which cycler format a file is, decided from its content (magic bytes, zip members, header lines), not
its name."""

import zipfile
from pathlib import Path
from typing import get_args

from schemas.cycling import CycleFormat
from service.cycling.readers import (
    Reader,
    ReadOptions,
    UnreadableFile,
    arbin_csv,
    arbin_res,
    biologic,
    generic_csv,
    maccor,
    neware_binary,
    neware_text,
)

# The format names are the API's (schemas.cycling.CycleFormat); each has its reader here.
READERS: dict[CycleFormat, Reader] = {
    "neware_nda": neware_binary.read_nda,
    "neware_ndax": neware_binary.read_ndax,
    "neware_csv": neware_text.read_csv,
    "neware_xlsx": neware_text.read_xlsx,
    "arbin_csv": arbin_csv.read,
    "arbin_res": arbin_res.read,
    "maccor_txt": maccor.read,
    "biologic_mpr": biologic.read_mpr,
    "biologic_mpt": biologic.read_mpt,
    "generic_csv": generic_csv.read,
}
FORMATS: tuple[CycleFormat, ...] = get_args(CycleFormat)


def _head_text(head: bytes) -> str:
    for encoding in ("utf-8", "cp1252"):
        try:
            return head.decode(encoding)
        except UnicodeDecodeError:
            continue
    return head.decode("latin-1")


def detect_format(path: Path) -> str:
    """The format name of a cycler file, or UnreadableFile saying what it looks like instead."""
    with path.open("rb") as handle:
        head = handle.read(8192)
    if not head:
        raise UnreadableFile("unknown", "the file is empty")
    if head.startswith(b"NEWARE"):
        return "neware_nda"
    if head.startswith(b"BIO-LOGIC MODULAR FILE"):
        return "biologic_mpr"
    if head.startswith(b"\x00\x01\x00\x00Standard Jet DB"):
        return "arbin_res"  # an Access (Jet) database: Arbin's .res; the reader checks its tables
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile:
            raise UnreadableFile("zip", "a damaged zip archive") from None
        if any(name.lower().endswith(".ndc") for name in names):
            return "neware_ndax"
        if "xl/workbook.xml" in names:
            return "neware_xlsx"
        raise UnreadableFile("zip", f"a zip archive that is neither a Neware .ndax nor an XLSX ({names[:5]})")
    if b"\x00" in head:
        raise UnreadableFile("unknown", f"an unknown binary format (first bytes {head[:8].hex()})")
    text = _head_text(head)
    lines = text.splitlines()
    first = lines[0] if lines else ""
    if first.startswith("EC-Lab ASCII FILE"):
        return "biologic_mpt"
    if (
        first.startswith("Today's Date")
        or (first.startswith("Name:") and "Maccor" in text)
        or any(line.startswith("Rec#\t") or line.startswith("Rec\tCycle") for line in lines[:60])
    ):
        return "maccor_txt"
    header = first.replace(" ", "").lower()
    if "data_point" in header and "cycle_index" in header and "charge_capacity" in header:
        return "arbin_csv"
    if header.startswith(("datapoint,", "cycleid,", "cycleindex,")) or (
        "stepindex" in header and "steptype" in header
    ):
        return "neware_csv"
    return "generic_csv"


def read_cycler_file(path: Path, options: ReadOptions, file_format: str | None = None):
    """Detect (or take the given) format and read the file with its reader."""
    chosen = file_format or detect_format(path)
    if chosen not in READERS:
        raise UnreadableFile(chosen, f"not a supported format; supported: {', '.join(FORMATS)}")
    return READERS[chosen](path, options)
