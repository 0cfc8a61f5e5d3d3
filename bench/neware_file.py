"""A large Neware .nda file for the ingestion benchmark: a real BTS 9 test repeated end to end.

The source is the shared fixture `neware_nda/TestFile.nda` (nda 130, BTS 9.1.5.7: a 21700 cell, 3 cycles,
6,670 records of 56 bytes). The generated file keeps its 1,024-byte header and its trailer (test info, steps,
log) byte for byte, and holds the records `copies` times, each copy continuing where the last one ended:
record index, test time, wall-clock time and the cycler's cycle counter run on. The header's pointers to the
trailer blocks move by the added length, and the test info's record count is the new one, so fastnda reads
it exactly as it reads a file from the cycler. Deterministic: the same fixture and `copies` give the same
bytes. Written under bench/data (not committed), made on demand.
"""

import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
FIXTURES = Path(os.environ.get("CELLPROV_FIXTURES", ROOT.parent / "shared" / "fixtures" / "cycler"))
SOURCE = "neware_nda/TestFile.nda"

# What the source holds, checked before it is expanded (a different file would need its own offsets).
SOURCE_RECORDS = 6670
SOURCE_CYCLES = 3
HEADER_BYTES = 1024
RECORD = np.dtype(
    [
        ("identifier", "<u2"),
        ("step_index", "u1"),
        ("step_type", "u1"),
        ("test_id", "V4"),
        ("index", "<u4"),
        ("test_time_s", "<u4"),
        ("test_time_ns", "<u4"),
        ("current_mA", "<f4"),
        ("voltage_V", "<f4"),
        ("capacity_mAs", "<f4"),
        ("energy_mWs", "<f4"),
        ("cycle", "<u4"),
        ("unknown", "V4"),
        ("unix_time_s", "<u4"),
        ("unix_time_ns", "<u4"),
        ("temperature_degC", "<f4"),
    ]
)
# The header's {begin u64, length u64} pointers to the blocks after the records (found in the source).
TRAILER_POINTERS = (18, 34, 50, 114, 130, 146, 162, 178, 194, 242, 359, 375)
DATA_POINTER = 82  # {begin, length} of the record block
TEST_INFO_POINTER = 34
COUNT_IN_TEST_INFO = 428  # record version 19: the tail at 424, then test id (u32) and the record count
GENERATOR_VERSION = 1  # in the file's name: a changed generator writes a new file, never reuses an old one
# The cycler logs every 10 s at rest: the gap left between one copy's last record and the next one's first.
GAP_S = 10


def _u64(raw: bytes | bytearray, at: int) -> int:
    return int.from_bytes(raw[at : at + 8], "little")


def _put_u64(raw: bytearray, at: int, value: int) -> None:
    raw[at : at + 8] = value.to_bytes(8, "little")


def _records_of(source: bytes) -> np.ndarray:
    begin, length = _u64(source, DATA_POINTER), _u64(source, DATA_POINTER + 8)
    if begin != HEADER_BYTES or length != SOURCE_RECORDS * RECORD.itemsize:
        raise ValueError(f"{SOURCE} is not the expected BTS 9 file (data block {begin}+{length})")
    return np.frombuffer(source, dtype=RECORD, count=SOURCE_RECORDS, offset=begin)


def expanded_records(records: np.ndarray, copies: int) -> np.ndarray:
    """The records repeated `copies` times, each copy's counters and clocks continuing from the last."""
    out = np.tile(records, copies)
    copy = np.repeat(np.arange(copies, dtype=np.uint32), len(records))
    test_span = int(records["test_time_s"][-1] - records["test_time_s"][0]) + GAP_S
    unix_span = int(records["unix_time_s"][-1] - records["unix_time_s"][0]) + GAP_S
    cycles = int(records["cycle"].max() - records["cycle"].min()) + 1
    out["index"] += copy * np.uint32(len(records))
    out["test_time_s"] += copy * np.uint32(test_span)
    out["unix_time_s"] += copy * np.uint32(unix_span)
    out["cycle"] += copy * np.uint32(cycles)
    return out


def write_neware_nda(target: Path, copies: int, source_path: Path | None = None) -> Path:
    """Write the source file with its records repeated `copies` times to `target`."""
    source = (source_path or FIXTURES / SOURCE).read_bytes()
    records = _records_of(source)
    data_end = HEADER_BYTES + records.nbytes
    body = expanded_records(records, copies).tobytes()
    added = len(body) - records.nbytes
    header = bytearray(source[:HEADER_BYTES])
    trailer = bytearray(source[data_end:])
    _put_u64(header, DATA_POINTER + 8, len(body))
    for at in TRAILER_POINTERS:
        if _u64(header, at) < data_end:
            raise ValueError(f"{SOURCE}: the header pointer at {at} does not point past the records")
        _put_u64(header, at, _u64(header, at) + added)
    count_at = _u64(source, TEST_INFO_POINTER) - data_end + COUNT_IN_TEST_INFO
    if int.from_bytes(trailer[count_at : count_at + 4], "little") != SOURCE_RECORDS:
        raise ValueError(f"{SOURCE}: the record count is not where record version 19 keeps it")
    trailer[count_at : count_at + 4] = (len(records) * copies).to_bytes(4, "little")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(bytes(header) + body + bytes(trailer))
    partial.replace(target)
    return target


def copies_for(rows: int) -> int:
    """How many copies of the source hold at least `rows` records."""
    return max(1, -(-rows // SOURCE_RECORDS))


def neware_file(rows: int = 1_000_000) -> Path:
    """The generated file of at least `rows` records under bench/data, written the first time it is asked
    for."""
    copies = copies_for(rows)
    target = DATA / f"neware-v{GENERATOR_VERSION}-{copies * SOURCE_RECORDS}-rows.nda"
    if not target.is_file():
        write_neware_nda(target, copies)
    return target
