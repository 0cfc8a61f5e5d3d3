"""Protocol templates: what a step under a protocol must record, and what the service tells you about it."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from schemas.analyses import Technique
from schemas.common import Contract, ProblemItem, Quantity, Reason
from schemas.instruments import InstrumentKind
from schemas.items import TypeName
from schemas.steps import Deviation, DeviationIn, Role, StepInputIn, StepOutputIn

TemplateName = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$")
]
Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Unit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Text = Annotated[str, StringConstraints(max_length=2000)]
Expression = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class Limits(Contract):
    """An accepted range, in `unit`: nominal ± tolerance (absolute, or percent of nominal), and/or min/max.

    With both, a value must satisfy both. Bounds are inclusive.
    """

    unit: Unit | None = None
    nominal: float | None = None
    tolerance: Annotated[float, Field(ge=0)] | None = None
    tolerance_percent: Annotated[float, Field(ge=0, le=100)] | None = None
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _coherent(self) -> "Limits":
        if self.tolerance is not None and self.tolerance_percent is not None:
            raise ValueError("give tolerance or tolerance_percent, not both")
        if (self.tolerance is not None or self.tolerance_percent is not None) and self.nominal is None:
            raise ValueError("a tolerance needs a nominal value")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        return self

    def ranged(self) -> bool:
        return (self.nominal, self.min, self.max) != (None, None, None)

    def bounds(self) -> tuple[float | None, float | None]:
        """(lowest, highest) accepted, None where open."""
        low, high = self.min, self.max
        if self.nominal is not None:
            spread = (
                self.tolerance
                if self.tolerance is not None
                else abs(self.nominal) * self.tolerance_percent / 100
                if self.tolerance_percent is not None
                else None
            )
            if spread is not None:
                low = self.nominal - spread if low is None else max(low, self.nominal - spread)
                high = self.nominal + spread if high is None else min(high, self.nominal + spread)
        return low, high

    def describe(self) -> str:
        """The range as a person reads it: "110 ± 5 degC", "≤ 0.1 ppm", "105–115 degC"."""
        unit = f" {self.unit}" if self.unit else ""
        if self.nominal is not None and self.tolerance and self.min is None and self.max is None:
            return f"{self.nominal:g} ± {self.tolerance:g}{unit}"
        if (
            self.nominal is not None
            and self.tolerance_percent is not None
            and self.min is None
            and self.max is None
        ):
            low, high = self.bounds()
            return f"{self.nominal:g}{unit} ± {self.tolerance_percent:g} % ({low:g}–{high:g}{unit})"
        low, high = self.bounds()
        if low is not None and high is not None:
            return f"{low:g}{unit}" if low == high else f"{low:g}–{high:g}{unit}"
        if low is not None:
            return f"≥ {low:g}{unit}"
        if high is not None:
            return f"≤ {high:g}{unit}"
        if self.nominal is not None:
            return f"about {self.nominal:g}{unit}"
        return f"any{unit}" if unit else "any"


class ParameterKind(StrEnum):
    quantity = "quantity"  # a value with a unit of the dimension of `unit`
    number = "number"  # a plain number, e.g. a C-rate
    choice = "choice"  # one of `choices`
    text = "text"
    bool = "bool"


class ParameterSpec(Limits):
    """One parameter a step records, e.g. temperature 110 ± 5 degC."""

    name: Identifier
    kind: ParameterKind = ParameterKind.quantity
    description: Text = ""
    required: bool = True
    choices: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] | None = None

    @model_validator(mode="after")
    def _fits_kind(self) -> "ParameterSpec":
        ranged = self.ranged()
        if self.kind == ParameterKind.quantity and self.unit is None:
            raise ValueError(f"quantity parameter {self.name!r} needs a unit (it fixes the dimension)")
        if self.kind == ParameterKind.choice and not self.choices:
            raise ValueError(f"choice parameter {self.name!r} needs choices")
        if self.kind != ParameterKind.choice and self.choices:
            raise ValueError(f"only a choice parameter has choices ({self.name!r} is a {self.kind})")
        if self.kind in (ParameterKind.choice, ParameterKind.text, ParameterKind.bool) and (
            ranged or self.unit
        ):
            raise ValueError(f"a {self.kind} parameter ({self.name!r}) has no unit or range")
        if self.kind == ParameterKind.number and self.unit is not None:
            raise ValueError(f"number parameter {self.name!r} has no unit; use kind quantity")
        return self


class AmountSpec(Limits):
    """How much of an input each entry of a role uses. Without a unit any amount in the item's own unit
    is accepted (e.g. a cathode cut by area or counted in discs)."""

    required: bool = True

    @model_validator(mode="after")
    def _range_has_unit(self) -> "AmountSpec":
        if self.ranged() and self.unit is None:
            raise ValueError("an amount range needs the unit it is expressed in")
        return self


class InputRole(Contract):
    """A role inputs play in the step (iron_source, solvent …): which item types, how many, how much."""

    role: Role
    types: Annotated[list[TypeName], Field(min_length=1)]
    description: Text = ""
    min_count: Annotated[int, Field(ge=0)] = 1
    max_count: Annotated[int, Field(ge=1)] | None = 1
    amount: AmountSpec | None = None

    @model_validator(mode="after")
    def _counts(self) -> "InputRole":
        if self.max_count is not None and self.max_count < self.min_count:
            raise ValueError(f"role {self.role!r}: max_count is below min_count")
        return self


class PropertySpec(Limits):
    """A property each output item must (or may) carry, e.g. areal_loading in mg/cm**2."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    description: Text = ""
    required: bool = True

    @model_validator(mode="after")
    def _range_has_unit(self) -> "PropertySpec":
        if self.ranged() and self.unit is None:
            raise ValueError(f"property {self.name!r}: a range needs the unit it is expressed in")
        return self


class OutputSpec(Contract):
    """What the step makes: item types, how many, the quantity each has and its required properties.

    `quarantined` outputs cannot be used as inputs until a reviewer releases them, and not before the
    analyses named in `release_requires` (e.g. XRD of a MOF batch) are recorded on them.
    """

    types: Annotated[list[TypeName], Field(min_length=1)]
    description: Text = ""
    min_count: Annotated[int, Field(ge=0)] = 1
    max_count: Annotated[int, Field(ge=1)] | None = 1
    quantity: AmountSpec | None = None
    properties: list[PropertySpec] = []
    quarantined: bool = False
    release_requires: list[Technique] = Field(
        default=[], description="analyses (by technique) an output needs before it may be released"
    )

    @model_validator(mode="after")
    def _counts(self) -> "OutputSpec":
        if self.max_count is not None and self.max_count < self.min_count:
            raise ValueError(f"output {self.types}: max_count is below min_count")
        if self.release_requires and not self.quarantined:
            raise ValueError(f"output {self.types}: release_requires needs quarantined: true")
        return self


class CheckSpec(Limits):
    """A rule across values, e.g. the Fe : linker molar ratio 1.67 ± 0.1.

    `expression` is arithmetic (+ - * / **, parentheses, abs/min/max) over the names a step provides:
    parameter names, `inputs.<role>` (the summed amount of a role), `count.<role>` (number of inputs in a
    role), `made` (number of items made), the template's `constants` and earlier `derived` values.
    The result is compared in `unit` (leave it out for a plain number).
    """

    name: Identifier
    description: Text = ""
    expression: Expression


class DerivedSpec(Contract):
    """A value computed from a step, e.g. the applied current for a C-rate; reported, not checked."""

    name: Identifier
    description: Text = ""
    expression: Expression
    unit: Unit | None = None


class InstrumentRoleSpec(Contract):
    """An instrument a step under this template is done with, e.g. the glovebox of an assembly."""

    role: Identifier
    kind: InstrumentKind
    required: bool = True
    description: Text = ""


class TemplateKind(StrEnum):
    process = "process"  # logged as a step: inputs consumed, outputs made
    test = (
        "test"  # settings of a measurement on a cell (cycling, CE, symmetric); checked, not logged as a step
    )


class TemplateIn(Contract):
    """A protocol template. `version` may be left out: the service gives the next one (1 for a new name)."""

    name: TemplateName
    version: Annotated[int, Field(ge=1)] | None = None
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(max_length=20000)] = ""
    kind: TemplateKind = TemplateKind.process
    parameters: list[ParameterSpec] = []
    inputs: list[InputRole] = []
    outputs: list[OutputSpec] = []
    constants: dict[Identifier, Quantity] = {}
    derived: list[DerivedSpec] = []
    checks: list[CheckSpec] = []
    instruments: list[InstrumentRoleSpec] = []
    requires_calibrated_equipment: bool = False
    """Steps (and test runs) on an instrument overdue or never calibrated are refused without a deviation."""

    @model_validator(mode="after")
    def _instrument_roles_unique(self) -> "TemplateIn":
        roles = [spec.role for spec in self.instruments]
        if len(roles) != len(set(roles)):
            raise ValueError("each instrument role is named once")
        return self


class TemplateStatus(StrEnum):
    published = "published"
    retired = "retired"


class TemplateOut(TemplateIn):
    version: int
    ref: str = Field(description="name@version, what a step names as its protocol")
    status: TemplateStatus
    created_at: datetime
    created_by: str
    retired_at: datetime | None = None
    retire_reason: str | None = None


class TemplateSummary(BaseModel):
    name: str
    title: str
    kind: TemplateKind
    latest: int = Field(description="the highest version")
    published: list[int] = Field(description="versions steps may use")
    retired: list[int]


class RetireIn(Contract):
    reason: Reason


class TemplateChange(BaseModel):
    """One difference between two versions, at a JSON pointer into the template."""

    pointer: str
    change: Literal["added", "removed", "changed"]
    old: Any = None
    new: Any = None


class TemplateDiff(BaseModel):
    name: str
    from_version: int
    to_version: int
    changes: list[TemplateChange]


class TemplateCheckIn(Contract):
    """Values to check against a template without logging anything (e.g. the settings of a test run)."""

    parameters: dict[Annotated[str, StringConstraints(min_length=1, max_length=100)], Any] = {}
    inputs: list[StepInputIn] = []
    outputs: list[StepOutputIn] = []
    deviations: list[DeviationIn] = []


class TemplateCheckOut(BaseModel):
    protocol: str
    conforms: bool = Field(description="no problems (deviations with a justification are not problems)")
    deviating: bool
    problems: list[ProblemItem]
    deviations: list[Deviation]
    normalized: dict[str, Quantity]
    computed: dict[str, Quantity]


class ReleaseIn(Contract):
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
