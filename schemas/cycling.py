"""Test runs: a cell's cycling test with its raw cycler file, per-cycle data, metrics and comparisons."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from schemas.common import Contract, Quantity
from schemas.steps import Deviation, DeviationIn

CycleFormat = Literal[
    "neware_nda",
    "neware_ndax",
    "neware_csv",
    "neware_xlsx",
    "arbin_csv",
    "arbin_res",
    "maccor_txt",
    "biologic_mpr",
    "biologic_mpt",
    "generic_csv",
]
TestKind = Literal["cycling", "li_cu", "symmetric"]


class TestOptions(Contract):
    """How to read and judge a cycler file; every field is optional."""

    __test__ = False  # not a pytest class, whatever its name

    format: CycleFormat | None = None
    """Skip detection and read the file as this format."""
    columns: dict[str, str] = {}
    """For generic CSV: role -> column name, roles time, voltage, current, cycle, step, step_type, capacity,
    charge_capacity, discharge_capacity, charge_energy, discharge_energy."""
    units: dict[str, str] = {}
    """For generic CSV: role -> unit (s, min, h; V, mV; A, mA; Ah, mAh; Wh, mWh) where the name has none."""
    active_mass: Quantity | None = None
    """Active material mass for mAh/g; default: the cell's `active_mass` property."""
    cycle_by: Literal["auto", "hardware"] = "auto"
    """auto: cellprov numbers cycles from step type and current sign; hardware: the cycler's cycle index."""
    kind: TestKind | None = None
    """Which metrics apply; default from the protocol name (li-li-symmetric, li-cu-ce, else cycling)."""
    reference_cycle: Annotated[int | None, Field(ge=1)] = None
    """Default: the first complete cycle after the formation cycles."""
    retention_cycle: Annotated[int | None, Field(ge=1)] = None
    """Default: the last complete cycle; an incomplete or truncated cycle is never it."""
    formation_cycles: Annotated[int | None, Field(ge=0, le=1000)] = None
    """Default: the test protocol's constant `formation_cycles`, else 0."""
    ce_convention: Literal["discharge/charge", "charge/discharge"] | None = None
    """Default by kind: discharge/charge for a cathode-limited cell (cycling, anode-free), charge/discharge
    (stripping ÷ plating) for Li||Cu."""
    ce_from: Annotated[int | None, Field(ge=1)] = None
    ce_to: Annotated[int | None, Field(ge=1)] = None
    retention_limit_pct: Annotated[float, Field(gt=0, lt=100)] = 80.0
    overpotential_limit_V: Annotated[float, Field(gt=0, le=10)] = 0.2
    channel: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    """The cycler channel it ran on (e.g. NW1-3); default: the cell's channel at `started_at`."""
    started_at: AwareDatetime | None = None
    """When the file's records began; default: the upload."""
    deviations: Annotated[list[DeviationIn], Field(max_length=10)] = []
    """A written reason to record a run on a channel overdue or never calibrated under a protocol that
    demands calibrated equipment: `{"field": "/options/channel", "justification": "..."}`."""


class Metric(BaseModel):
    name: str
    value: float | None
    unit: str
    note: str = ""
    convention: str = ""
    """How the value was computed (reference cycle, CE definition, window), as stored with it."""


class Plausibility(BaseModel):
    """A finding of the plausibility checks; a run with an `error` is left out of comparisons."""

    level: Literal["warning", "error"]
    check: str
    message: str


class TestFile(BaseModel):
    __test__ = False  # not a pytest class, whatever its name
    sha256: str
    name: str
    size: int
    media_type: str
    url: str


class TestRunOut(BaseModel):
    __test__ = False  # not a pytest class, whatever its name
    id: int
    cell: str
    protocol: str
    kind: TestKind
    status: Literal["recorded", "voided"]
    void_reason: str | None = None
    file: TestFile
    format: str
    parser: str
    parser_version: str
    active_mass_g: float | None
    leading: Literal["charge", "discharge"] | None
    """The direction each cycle starts with."""
    record_count: int
    cycle_count: int
    duration_h: float
    metrics: list[Metric]
    options: dict[str, object]
    notes: list[str]
    warnings: list[Plausibility] = []
    """Plausibility findings, stored with the run when it was recorded."""
    instrument: str | None = None
    channel: str | None = None
    """The cycler channel it ran on, given or found from the channel's load history."""
    calibration_state: str | None = None
    """The cycler's calibration when the run began: in_calibration, due, overdue or never."""
    deviations: list[Deviation] = []
    """The deviation written for an uncalibrated channel under a protocol demanding calibrated equipment."""
    created_at: datetime
    created_by: str


class CycleOut(BaseModel):
    cycle: int
    hw_cycle: int | None
    start_s: float
    duration_s: float
    charge_mAh: float
    discharge_mAh: float
    charge_mAh_g: float | None
    discharge_mAh_g: float | None
    ce_pct: float | None
    charge_mWh: float
    discharge_mWh: float
    mean_charge_V: float | None
    mean_discharge_V: float | None
    max_abs_voltage_V: float
    complete: bool = True
    """Only complete cycles enter the metrics."""
    flag: str | None = None
    """Why a cycle is not complete, or `formation`."""


class CompareRow(BaseModel):
    test: int
    cell: str
    protocol: str
    metrics: dict[str, float | None]


class CompareGroup(BaseModel):
    group: str
    n: int
    mean: dict[str, float | None]
    sd: dict[str, float | None] = {}
    """Sample standard deviation (n − 1) of each metric; null with fewer than two values."""
    tests: list[CompareRow]


class Cohort(BaseModel):
    """A named group of cells: those that descend from one item (a batch, a lot, a sheet)."""

    name: str
    descends_from: str
    cells: list[str]


class ParameterDifference(BaseModel):
    """A parameter of a protocol that both cohorts' ancestries ran, with the values each ran it at."""

    protocol: str
    parameter: str
    values: dict[str, list[str]]


class UpstreamItemDifference(BaseModel):
    """An item type upstream of the cohorts whose items differ: another batch, another lot."""

    type: str
    items: dict[str, list[str]]


class UpstreamDeviation(BaseModel):
    step: int
    protocol: str
    field: str
    expected: str | None = None
    got: str | None = None
    justification: str = ""


class UpstreamDifferences(BaseModel):
    """What differs between the cohorts' ancestries: the steps only some of them went through, the
    parameters of shared protocols run at other values, the items of a type that are not the same, and the
    deviations recorded upstream of each cohort (only cohorts with any)."""

    parameters: list[ParameterDifference] = []
    protocols_only_in: dict[str, list[str]] = {}
    items: list[UpstreamItemDifference] = []
    deviations: dict[str, list[UpstreamDeviation]] = {}


class Comparison(BaseModel):
    """Metrics of test runs grouped by what is upstream of their cells."""

    by: str
    protocol: str | None
    groups: list[CompareGroup]
    cohorts: list[Cohort] = []
    """With `cohort=NAME:descends_from=CODE`: each cohort's cells (a cell may be in several)."""
    upstream_differences: UpstreamDifferences | None = None


class DifferentialCurve(BaseModel):
    cycle: int
    direction: Literal["charge", "discharge"]
    voltage_V: list[float]
    dqdv_mAh_per_V: list[float]


class DifferentialCapacity(BaseModel):
    """dQ/dV of chosen cycles of a test run, with the method that computed it."""

    test: int
    method: str
    resolution_V: float
    smoothing_points: int
    curves: list[DifferentialCurve]


class VoltageProfile(BaseModel):
    cycle: int
    direction: Literal["charge", "discharge"]
    capacity_mAh: list[float]
    capacity_mAh_g: list[float] | None
    voltage_V: list[float]


class VoltageProfiles(BaseModel):
    """Voltage against capacity passed in each half cycle of the chosen cycles."""

    test: int
    method: str
    profiles: list[VoltageProfile]


class VoltageSlopeCurve(BaseModel):
    cycle: int
    direction: Literal["charge", "discharge"]
    capacity_mAh: list[float]
    capacity_mAh_g: list[float] | None
    dvdq_V_per_mAh: list[float]


class DifferentialVoltage(BaseModel):
    """dV/dQ of chosen cycles of a test run against the capacity passed, with the method that computed it."""

    test: int
    method: str
    points: int
    smoothing_points: int
    curves: list[VoltageSlopeCurve]
