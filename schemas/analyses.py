"""Analyses: characterisations of items (XRD, XPS, EIS ...) with their files and key results as quantities."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from schemas.common import MAX_MAGNITUDE, Contract, Quantity
from schemas.items import ItemCode

Technique = Literal[
    "XRD",
    "FT-IR",
    "SEM",
    "TEM",
    "EDS",
    "BET",
    "XPS",
    "TOF-SIMS",
    "Raman",
    "NMR",
    "AFM",
    "cryo-TEM",
    "optical microscopy",
    "CLSM",
    "contact angle",
    "CV",
    "EIS",
    "Tafel",
    "chronoamperometry",
    "DFT",
    "MD",
]
TECHNIQUES: tuple[str, ...] = Technique.__args__  # type: ignore[attr-defined]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Sha256 = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[0-9a-fA-F]{64}$")]


class ResultIn(Contract):
    """A named result, e.g. {"name": "LiF fraction", "value": 41.7, "unit": "%"}."""

    name: Name
    value: Annotated[float, Field(ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE)]
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    note: Annotated[str, StringConstraints(max_length=2000)] = ""


class AnalysisFileIn(Contract):
    sha256: Sha256
    """A file uploaded with POST /files."""
    label: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


class AnalysisIn(Contract):
    technique: Technique
    subjects: Annotated[list[ItemCode], Field(min_length=1, max_length=500)]
    performed_at: datetime | None = None
    instrument: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    results: list[ResultIn] = []
    files: list[AnalysisFileIn] = []
    notes: Annotated[str, StringConstraints(max_length=20000)] = ""


class ResultOut(BaseModel):
    name: str
    value: float
    unit: str
    note: str = ""


class AnalysisFileOut(BaseModel):
    sha256: str
    name: str
    label: str
    media_type: str
    url: str


class AnalysisOut(BaseModel):
    id: int
    technique: str
    subjects: list[str]
    performed_at: datetime | None
    instrument: str
    title: str
    results: list[ResultOut]
    files: list[AnalysisFileOut]
    notes: str
    calculator: str | None
    """Set when a calculator made this analysis from `inputs`."""
    inputs: dict[str, object]
    status: str
    void_reason: str | None = None
    created_at: datetime
    created_by: str


class CalculationBase(Contract):
    subjects: Annotated[list[ItemCode], Field(min_length=1, max_length=500)]
    performed_at: datetime | None = None
    instrument: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    derived_from: list[int] = []
    """Ids of the analyses whose data went in (e.g. the EIS and chronoamperometry runs)."""


class BruceVincentIn(CalculationBase):
    """t+ = Is(ΔV − I0·R0) / (I0(ΔV − Is·Rs))."""

    delta_V: Quantity = Quantity(value=10, unit="mV")
    I0: Quantity
    Is: Quantity
    R0: Quantity
    Rs: Quantity


class TafelPoint(Contract):
    overpotential: Quantity
    current_density: Quantity


class TafelIn(CalculationBase):
    """Exchange current density from the linear Tafel region of η against log10|i|."""

    points: Annotated[list[TafelPoint], Field(min_length=2, max_length=100000)]
    temperature: Quantity = Quantity(value=30, unit="degC")
    min_overpotential: Quantity = Quantity(value=0, unit="mV")
    """Points with |η| below this are outside the Tafel region and left out of the fit."""


class ArrheniusPoint(Contract):
    temperature: Quantity
    rct: Quantity


class ArrheniusIn(CalculationBase):
    """Activation energy from 1/Rct = A·exp(−Ea/RT): a line of ln(1/Rct) against 1/T."""

    points: Annotated[list[ArrheniusPoint], Field(min_length=2, max_length=10000)]


class NyquistSpectrum(BaseModel):
    label: str
    technique: str
    """PEIS, GEIS ... as EC-Lab names it (EIS where the file does not say)."""
    sequence: int | None
    """EC-Lab's Ns: the technique's place in a linked-technique or Modulo Bat run."""
    frequency_Hz: list[float]
    re_Z_ohm: list[float]
    minus_im_Z_ohm: list[float]


class Nyquist(BaseModel):
    """The impedance spectra of an analysis's file, as recorded: −Im(Z) against Re(Z), nothing fitted."""

    analysis: int
    file: AnalysisFileOut
    method: str
    spectra: list[NyquistSpectrum]
