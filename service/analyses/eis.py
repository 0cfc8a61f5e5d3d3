"""Impedance spectra from BioLogic EC-Lab files (PEIS, GEIS, and the impedance sequences of a Modulo Bat run):
the points of a Nyquist plot, as EC-Lab recorded them. Nothing is fitted.

`.mpt` is EC-Lab's text export and is read here; `.mpr`, its binary file, only through galvani, the optional
GPL-3.0 extra `cellprov[biologic]`. EC-Lab writes the impedance as `freq/Hz`, `Re(Z)/Ohm` and `-Im(Z)/Ohm`
(already negated); rows whose frequency is zero are the rests and other techniques between the spectra.
"""

import re
from dataclasses import dataclass, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from service.cycling.readers import number, text_of
from service.errors import Invalid, problem

FREQUENCY, REAL, MINUS_IMAGINARY, IMAGINARY = "freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm", "Im(Z)/Ohm"
# What EC-Lab names its impedance techniques in a file's header, and their short names.
TECHNIQUES = {
    "Potentio Electrochemical Impedance Spectroscopy": "PEIS",
    "Galvano Electrochemical Impedance Spectroscopy": "GEIS",
    "Staircase Potentio Electrochemical Impedance Spectroscopy": "SPEIS",
    "Staircase Galvano Electrochemical Impedance Spectroscopy": "SGEIS",
}
# The columns that tell one spectrum from the next in a file holding several (a sequence, a repeat).
GROUPING = ("Ns", "z cycle", "cycle number")
_HEADER_LINES = re.compile(r"Nb header lines\s*:\s*(\d+)")
_SETTINGS_COLUMN = 20  # EC-Lab's settings table (Ns, ctrl_type, ...) is laid out in 20-character columns


class NotASpectrum(Invalid):
    """A file that holds no impedance spectrum: the answer says what it is instead."""

    status, slug, title = 422, "not-an-impedance-spectrum", "The file is not an impedance spectrum"


@dataclass(frozen=True)
class Spectrum:
    label: str
    technique: str
    sequence: int | None
    """EC-Lab's Ns: the technique's place in a linked-technique or Modulo Bat run."""
    frequency_Hz: list[float]
    re_Z_ohm: list[float]
    minus_im_Z_ohm: list[float]


def _refused(name: str, why: str) -> NotASpectrum:
    return NotASpectrum(
        f"{name}: {why}", [problem("/file", why, expected="an EC-Lab PEIS/GEIS file", got=name)]
    )


def _technique_of_header(header: list[str]) -> str:
    for line in header[:8]:
        if line.strip() in TECHNIQUES:
            return TECHNIQUES[line.strip()]
    return "EIS"


def _techniques_by_sequence(header: list[str]) -> dict[int, str]:
    """Ns → technique from the settings table of a multi-technique file (e.g. Modulo Bat's `ctrl_type`)."""
    rows = {
        line[:_SETTINGS_COLUMN].strip(): [
            line[at : at + _SETTINGS_COLUMN].strip()
            for at in range(_SETTINGS_COLUMN, len(line), _SETTINGS_COLUMN)
        ]
        for line in header
        if line[:_SETTINGS_COLUMN].strip() in ("Ns", "ctrl_type")
    }
    found: dict[int, str] = {}
    for ns, kind in zip(rows.get("Ns", []), rows.get("ctrl_type", []), strict=False):
        if ns.isdigit() and kind:
            found[int(ns)] = kind
    return found


def _spectra(
    columns: dict[str, list[Any]], name: str, technique: str, by_sequence: dict[int, str], title: str = ""
) -> list[Spectrum]:
    """Each run of rows with a frequency, split where a grouping column changes or a rest comes between."""
    if FREQUENCY not in columns or REAL not in columns or not ({MINUS_IMAGINARY, IMAGINARY} & columns.keys()):
        kept = ", ".join(sorted(columns)[:6])
        raise _refused(
            name,
            f"{'a ' + title + ' record, ' if title else ''}no {FREQUENCY}, {REAL} and {MINUS_IMAGINARY} "
            f"columns (it has {kept}, …): not an impedance spectrum",
        )
    minus_im = columns.get(MINUS_IMAGINARY) or [None if v is None else -v for v in columns[IMAGINARY]]
    keys = [columns[c] for c in GROUPING if c in columns]
    runs: list[tuple[tuple, list[int]]] = []
    previous: int | None = None
    for row, frequency in enumerate(columns[FREQUENCY]):
        re_z, im_z = columns[REAL][row], minus_im[row]
        if frequency is None or frequency <= 0 or re_z is None or im_z is None:
            continue
        key = tuple(k[row] for k in keys)
        if previous is not None and previous == row - 1 and runs[-1][0] == key:
            runs[-1][1].append(row)
        else:
            runs.append((key, [row]))
        previous = row
    if not runs:
        raise _refused(name, f"no impedance points: every {FREQUENCY} is zero or empty")
    sequences = columns.get("Ns")
    counted: dict[str, int] = {}
    spectra = []
    for _, rows in runs:
        ns = sequences[rows[0]] if sequences is not None else None
        sequence = int(ns) if ns is not None else None
        kind = by_sequence.get(sequence, technique) if sequence is not None else technique
        counted[kind] = counted.get(kind, 0) + 1
        label = (
            f"{kind} (Ns {sequence})" if by_sequence and sequence is not None else f"{kind} {counted[kind]}"
        )
        spectra.append(
            Spectrum(
                label,
                kind,
                sequence,
                [float(columns[FREQUENCY][r]) for r in rows],
                [float(columns[REAL][r]) for r in rows],
                [float(minus_im[r]) for r in rows],
            )
        )
    if len(spectra) == 1 and not by_sequence:
        spectra = [replace(spectra[0], label=spectra[0].technique)]
    return spectra


def read_mpt(path: Path, name: str) -> list[Spectrum]:
    lines = text_of(path).splitlines()
    match = _HEADER_LINES.search("\n".join(lines[:5]))
    if not match:
        raise _refused(name, "no 'Nb header lines' line near the top: not an EC-Lab text export")
    header_at = int(match.group(1)) - 1
    if not 0 <= header_at < len(lines):
        raise _refused(name, "the header is longer than the file")
    names = [n.strip() for n in lines[header_at].split("\t")]
    rows = [line.split("\t") for line in lines[header_at + 1 :] if line.strip()]
    columns = {
        n: [number(row[i]) if i < len(row) else None for row in rows] for i, n in enumerate(names) if n
    }
    header = lines[:header_at]
    # The technique's full name stands alone near the top ("Galvanostatic Cycling with Potential Limitation").
    title = next((line.strip() for line in header[1:6] if line.strip() and ":" not in line), "")
    return _spectra(columns, name, _technique_of_header(header), _techniques_by_sequence(header), title)


def read_mpr(path: Path, name: str) -> list[Spectrum]:
    try:
        from galvani import BioLogic
    except ImportError:
        raise _refused(
            name,
            "reading .mpr needs the optional extra cellprov[biologic] (galvani, GPL-3.0), not installed "
            "here; attach EC-Lab's .mpt text export instead",
        ) from None
    try:
        galvani_version = version("galvani")
    except PackageNotFoundError:
        galvani_version = "unknown"
    try:
        data = BioLogic.MPRfile(str(path)).data
    except Exception as exc:  # galvani signals undecodable data with several unrelated exception types
        raise _refused(
            name, f"galvani {galvani_version} cannot decode it ({type(exc).__name__}: {exc}); attach the .mpt"
        ) from None
    columns = {column: [float(v) for v in data[column]] for column in data.dtype.names}
    return _spectra(columns, name, "EIS", {})


def named_like_ec_lab(name: str) -> bool:
    return name.lower().endswith((".mpt", ".mpr"))


def read_spectra(path: Path, name: str) -> list[Spectrum]:
    """The impedance spectra of an EC-Lab file, told apart by its first bytes, not its name."""
    with path.open("rb") as handle:
        start = handle.read(64)
    if start.startswith(b"BIO-LOGIC MODULAR FILE"):
        return read_mpr(path, name)
    if start.lstrip().startswith(b"EC-Lab ASCII FILE"):
        return read_mpt(path, name)
    raise _refused(name, "not an EC-Lab file (.mpt text export or .mpr): no impedance spectrum can be read")
