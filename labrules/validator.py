"""The template validator: pure functions that say everything wrong with a template, or with a step under it.

No database here: callers pass the item type of each input. Every problem is collected, none raised, so a
step that breaks its protocol in five places gets five answers at once.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pint
from pydantic import ValidationError

from labrules import units
from labrules.evaluator import NAMESPACES, ExpressionError, Missing, compile_expression, evaluate
from labrules.problems import problem
from schemas import (
    Deviation,
    DeviationIn,
    ParameterKind,
    ProblemItem,
    Quantity,
    StepInputIn,
    StepOutputIn,
    TemplateIn,
)
from schemas.steps import StepInstrumentIn
from schemas.templates import AmountSpec, CheckSpec, DerivedSpec, Limits

DIMENSIONLESS = "dimensionless"


# --- a template on its own ----------------------------------------------------------------------------


def template_problems(template: TemplateIn, known_types: set[str] | None = None) -> list[ProblemItem]:
    """Everything wrong with a template itself: units pint does not know, duplicate names, checks that read
    names the step will not have, expressions the evaluator refuses, item types that do not exist."""
    problems: list[ProblemItem] = []

    def unit_ok(unit: str | None, pointer: str) -> None:
        if unit is None:
            return
        try:
            units.parse_unit(unit)
        except units.UnitProblem as exc:
            problems.append(problem(pointer, str(exc), expected="a unit such as g, mL, degC, h", got=unit))

    def unique(names: Sequence[str], pointer: str, what: str) -> None:
        seen: set[str] = set()
        for n, name in enumerate(names):
            if name in seen:
                problems.append(problem(f"{pointer}/{n}", f"{what} {name!r} is declared twice", got=name))
            seen.add(name)

    def types_ok(types: Sequence[str], pointer: str) -> None:
        if known_types is None:
            return
        for n, type_name in enumerate(types):
            if type_name not in known_types:
                problems.append(
                    problem(f"{pointer}/{n}", "no such item type; see GET /api/v1/item-types", got=type_name)
                )

    unique([p.name for p in template.parameters], "/parameters", "parameter")
    unique([r.role for r in template.inputs], "/inputs", "role")
    unique([c.name for c in template.checks], "/checks", "check")
    unique([d.name for d in template.derived], "/derived", "derived value")
    for n, parameter in enumerate(template.parameters):
        unit_ok(parameter.unit, f"/parameters/{n}/unit")
    for n, role in enumerate(template.inputs):
        types_ok(role.types, f"/inputs/{n}/types")
        if role.amount is not None:
            unit_ok(role.amount.unit, f"/inputs/{n}/amount/unit")
    output_types: list[str] = []
    for n, output in enumerate(template.outputs):
        types_ok(output.types, f"/outputs/{n}/types")
        output_types += output.types
        if output.quantity is not None:
            unit_ok(output.quantity.unit, f"/outputs/{n}/quantity/unit")
        unique([p.name for p in output.properties], f"/outputs/{n}/properties", "property")
        for m, prop in enumerate(output.properties):
            unit_ok(prop.unit, f"/outputs/{n}/properties/{m}/unit")
    for n, type_name in enumerate(output_types):
        if type_name in output_types[:n]:
            problems.append(problem("/outputs", f"{type_name!r} is in more than one output", got=type_name))
    for name, constant in template.constants.items():
        if bad := units.check_quantity(constant, f"/constants/{name}"):
            problems.append(bad)

    # A check may read parameters (numbers and quantities), roles, constants and derived values above it.
    readable = {
        p.name for p in template.parameters if p.kind in (ParameterKind.quantity, ParameterKind.number)
    }
    readable |= {f"inputs.{r.role}" for r in template.inputs} | {f"count.{r.role}" for r in template.inputs}
    readable |= set(template.constants) | {"made"}
    sections: list[tuple[str, Sequence[DerivedSpec | CheckSpec]]] = [
        ("derived", template.derived),
        ("checks", template.checks),
    ]
    for section, entries in sections:
        for n, entry in enumerate(entries):
            unit_ok(entry.unit, f"/{section}/{n}/unit")
            try:
                compiled = compile_expression(entry.expression)
            except ExpressionError as exc:
                problems.append(problem(f"/{section}/{n}/expression", str(exc), got=entry.expression))
                continue
            for name in sorted(compiled.names - readable):
                problems.append(
                    problem(
                        f"/{section}/{n}/expression",
                        f"{name!r} is not a number-valued parameter, role, constant or earlier derived value",
                        expected=sorted(readable),
                        got=name,
                    )
                )
            if section == "derived":
                readable.add(entry.name)
    if template.kind == "process" and not template.outputs:
        problems.append(problem("/outputs", "a process template must make something", expected=">= 1 output"))
    return problems


# --- a step under a template ---------------------------------------------------------------------------


@dataclass
class Verdict:
    """What a template says about a step: the problems left after deviations, the deviations accepted, each
    quantity in the template's unit, and the checks' and derived values."""

    problems: list[ProblemItem] = field(default_factory=list)
    deviations: list[Deviation] = field(default_factory=list)
    normalized: dict[str, Quantity] = field(default_factory=dict)
    computed: dict[str, Quantity] = field(default_factory=dict)
    # Out-of-range problems by pointer: the only kind a written deviation can excuse.
    out_of_range: dict[str, ProblemItem] = field(default_factory=dict)

    @property
    def deviating(self) -> bool:
        return bool(self.deviations)


def _dimension_text(unit: str) -> str:
    return f"{units.dimension(unit)} (e.g. {unit})"


def _as_quantity(value: Any) -> Quantity | None:
    if isinstance(value, Quantity):
        return value
    if isinstance(value, str | dict):
        try:
            return Quantity.model_validate(value)
        except ValidationError:
            return None
    return None


def _within(value: float, limits: Limits) -> bool:
    low, high = limits.bounds()
    slack = 1e-9
    if low is not None and value < low - slack * max(1.0, abs(low)):
        return False
    return not (high is not None and value > high + slack * max(1.0, abs(high)))


# Calibration states an instrument may not be used in, on a template that demands calibrated equipment.
UNCALIBRATED = {"overdue": "overdue", "never": "never calibrated"}


def calibration_warning(instrument: str, state: str, day: date, where: str | None = None) -> str | None:
    """What a run or a step on an instrument overdue or never calibrated is told; None when it was fine."""
    when = UNCALIBRATED.get(state)
    if when is None:
        return None
    return f"{instrument} was {when} on {day.isoformat()}" + (f" ({where})" if where else "")


@dataclass(frozen=True)
class InstrumentFacts:
    """What the caller read of an instrument a step names: its kind, whether it is voided, and its
    calibration state on the step's day."""

    code: str
    kind: str
    voided: bool
    state: str
    day: date


class _Checker:
    def __init__(self, template: TemplateIn, ref: str) -> None:
        self.template = template
        self.ref = ref
        self.verdict = Verdict()
        self.values: dict[str, pint.Quantity | float] = {}

    def fail(self, pointer: str, detail: str, expected: Any = None, got: Any = None) -> None:
        self.verdict.problems.append(problem(pointer, detail, expected=expected, got=got))

    def out_of_range(self, pointer: str, detail: str, expected: str, got: str) -> None:
        item = problem(pointer, detail, expected=expected, got=got)
        self.verdict.problems.append(item)
        self.verdict.out_of_range[pointer] = item

    def quantity(self, given: Any, limits: Limits, pointer: str, what: str) -> pint.Quantity | None:
        """A client's quantity checked against `limits`: its unit's dimension, then its range. Returns it in
        the template's unit (as entered when the template has no unit), or None when it is not usable."""
        entered = _as_quantity(given)
        if entered is None:
            expected = limits.describe() if limits.unit else "a quantity"
            self.fail(pointer, f"{what} must be a value with a unit", expected=expected, got=given)
            return None
        if bad := units.check_quantity(entered, pointer):
            self.verdict.problems.append(bad)
            return None
        if limits.unit is None:
            return units.to_pint(entered)
        try:
            normal = units.to_pint(entered).to(units.parse_unit(limits.unit))
        except pint.DimensionalityError:
            self.fail(
                f"{pointer}/unit",
                f"{what} is measured in units of {units.dimension(limits.unit)}, not {entered.unit}",
                expected=_dimension_text(limits.unit),
                got=entered.unit,
            )
            return None
        magnitude = float(normal.magnitude)
        self.verdict.normalized[pointer] = Quantity(value=magnitude, unit=limits.unit)
        if not _within(magnitude, limits):
            shown = str(entered) + (
                "" if entered.unit == limits.unit else f" (= {magnitude:g} {limits.unit})"
            )
            self.out_of_range(pointer, f"{what} is out of range", expected=limits.describe(), got=shown)
        return normal

    # -- parameters ------------------------------------------------------------------------------------

    def parameters(self, given: Mapping[str, Any]) -> None:
        specs = {p.name: p for p in self.template.parameters}
        for name in given:
            if name not in specs:
                self.fail(
                    f"/parameters/{name}",
                    f"{self.ref} has no parameter {name!r}",
                    expected=sorted(specs),
                    got=name,
                )
        for name, spec in specs.items():
            pointer = f"/parameters/{name}"
            if name not in given:
                if spec.required:
                    expected = spec.describe() if spec.kind != ParameterKind.choice else spec.choices
                    self.fail(pointer, f"{name} is required", expected=expected or spec.kind.value)
                continue
            value = given[name]
            if spec.kind == ParameterKind.quantity:
                normal = self.quantity(value, spec, pointer, name)
                if normal is not None:
                    self.values[name] = normal
            elif spec.kind == ParameterKind.number:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    self.fail(pointer, f"{name} is a plain number", expected=spec.describe(), got=value)
                else:
                    self.values[name] = float(value)
                    if not _within(float(value), spec):
                        self.out_of_range(pointer, f"{name} is out of range", spec.describe(), f"{value:g}")
            elif spec.kind == ParameterKind.choice:
                if value not in (spec.choices or []):
                    self.fail(pointer, f"{name} must be one of the choices", expected=spec.choices, got=value)
            elif spec.kind == ParameterKind.bool:
                if not isinstance(value, bool):
                    self.fail(pointer, f"{name} is true or false", expected="true or false", got=value)
            elif not isinstance(value, str):
                self.fail(pointer, f"{name} is text", expected="text", got=value)

    # -- inputs ----------------------------------------------------------------------------------------

    def inputs(self, given: Sequence[StepInputIn], types: Sequence[str | None]) -> None:
        roles = {r.role: r for r in self.template.inputs}
        by_role: dict[str, list[pint.Quantity | None]] = defaultdict(list)
        for n, entry in enumerate(given):
            where = f"/inputs/{n}"
            spec = roles.get(entry.role)
            if spec is None:
                self.fail(
                    f"{where}/role",
                    f"{self.ref} has no input role {entry.role!r}",
                    expected=sorted(roles),
                    got=entry.role,
                )
                continue
            type_name = types[n] if n < len(types) else None
            if type_name is not None and type_name not in spec.types:
                self.fail(
                    f"{where}/item",
                    f"{entry.item} is a {type_name}; the {entry.role} role takes {' or '.join(spec.types)}",
                    expected=spec.types,
                    got=type_name,
                )
            by_role[entry.role].append(self.amount(entry, spec.amount, where))
        for role, spec in roles.items():
            count = len(by_role.get(role, []))
            allowed = (
                f"{spec.min_count}–{spec.max_count}" if spec.max_count is not None else f">= {spec.min_count}"
            )
            if spec.min_count == spec.max_count:
                allowed = str(spec.min_count)
            if count < spec.min_count:
                self.fail(
                    "/inputs",
                    f"the {role} role needs at least {spec.min_count} input(s) ({' or '.join(spec.types)})",
                    expected=allowed,
                    got=count,
                )
            elif spec.max_count is not None and count > spec.max_count:
                self.fail(
                    "/inputs",
                    f"the {role} role takes at most {spec.max_count} input(s)",
                    expected=allowed,
                    got=count,
                )
            self.values[f"count.{role}"] = float(count)
            amounts = [a for a in by_role.get(role, []) if a is not None]
            if amounts and len(amounts) == len(by_role[role]):
                try:
                    total = amounts[0]
                    for amount in amounts[1:]:
                        total = total + amount
                    self.values[f"inputs.{role}"] = total
                except pint.DimensionalityError:
                    pass  # amounts in different dimensions: checks that read this role are skipped

    def amount(self, entry: StepInputIn, spec: AmountSpec | None, where: str) -> pint.Quantity | None:
        if entry.amount is None:
            if spec is not None and spec.required:
                self.fail(
                    f"{where}/amount", f"an amount of {entry.item} is required", expected=spec.describe()
                )
            return None
        if spec is None:
            bad = units.check_quantity(entry.amount, f"{where}/amount", positive=True)
            return units.to_pint(entry.amount) if bad is None else None
        return self.quantity(entry.amount, spec, f"{where}/amount", f"the amount of {entry.item}")

    # -- outputs ---------------------------------------------------------------------------------------

    def outputs(self, given: Sequence[StepOutputIn]) -> None:
        specs = self.template.outputs
        counts = [0] * len(specs)
        made = 0
        for n, output in enumerate(given):
            where = f"/outputs/{n}"
            made += output.count
            index = next((i for i, spec in enumerate(specs) if output.type in spec.types), None)
            if index is None:
                makes = [t for spec in specs for t in spec.types]
                self.fail(
                    f"{where}/type",
                    f"{self.ref} does not make {output.type}",
                    expected=makes,
                    got=output.type,
                )
                continue
            spec = specs[index]
            counts[index] += output.count
            if output.quantity is None:
                if spec.quantity is not None and spec.quantity.required:
                    self.fail(
                        f"{where}/quantity",
                        f"the quantity of {output.type} made is required",
                        expected=spec.quantity.describe(),
                    )
            elif spec.quantity is not None:
                self.quantity(
                    output.quantity, spec.quantity, f"{where}/quantity", f"the quantity of {output.type}"
                )
            declared = {p.name: p for p in spec.properties}
            for key in output.properties:
                if key not in declared:
                    self.fail(
                        f"{where}/properties/{key}",
                        f"{output.type} from {self.ref} has no property {key!r}",
                        expected=sorted(declared),
                        got=key,
                    )
            for name, prop in declared.items():
                pointer = f"{where}/properties/{name}"
                if name not in output.properties:
                    if prop.required:
                        self.fail(
                            pointer,
                            f"{name} is required",
                            expected=prop.describe() if prop.unit else "a value",
                        )
                elif prop.unit is not None:
                    self.quantity(output.properties[name], prop, pointer, name)
        for spec, count in zip(specs, counts, strict=True):
            what = " or ".join(spec.types)
            if count < spec.min_count:
                self.fail(
                    "/outputs",
                    f"the step must make at least {spec.min_count} {what}",
                    expected=f">= {spec.min_count}",
                    got=count,
                )
            elif spec.max_count is not None and count > spec.max_count:
                self.fail(
                    "/outputs",
                    f"the step makes at most {spec.max_count} {what}",
                    expected=f"<= {spec.max_count}",
                    got=count,
                )
        self.values["made"] = float(made)

    # -- checks ----------------------------------------------------------------------------------------

    def computed(self) -> None:
        for name, constant in self.template.constants.items():
            self.values[name] = units.to_pint(constant)
        for spec in self.template.derived:
            result = self._evaluate(spec.expression, spec.unit, f"/derived/{spec.name}", spec.name)
            if result is not None:
                self.values[spec.name] = units.ureg.Quantity(
                    result, units.parse_unit(spec.unit or DIMENSIONLESS)
                )
                self.verdict.computed[spec.name] = Quantity(value=result, unit=spec.unit or DIMENSIONLESS)
        for check in self.template.checks:
            pointer = f"/checks/{check.name}"
            result = self._evaluate(check.expression, check.unit, pointer, check.name)
            if result is None:
                continue
            unit = check.unit or DIMENSIONLESS
            self.verdict.computed[check.name] = Quantity(value=result, unit=unit)
            if not _within(result, check):
                what = check.description or check.name
                shown = f"{result:.4g}" + (f" {check.unit}" if check.unit else "")
                self.out_of_range(pointer, f"check failed: {what}", expected=check.describe(), got=shown)

    def _evaluate(self, expression: str, unit: str | None, pointer: str, name: str) -> float | None:
        try:
            result = evaluate(compile_expression(expression), self.values)
            as_quantity = (
                result if isinstance(result, pint.Quantity) else units.ureg.Quantity(result, DIMENSIONLESS)
            )
            return float(as_quantity.to(units.parse_unit(unit or DIMENSIONLESS)).magnitude)
        except Missing:
            return None  # a value it reads is missing or unusable, and that is reported where it is
        except (
            pint.DimensionalityError,
            pint.OffsetUnitCalculusError,
            ZeroDivisionError,
            ExpressionError,
        ) as exc:
            self.fail(
                pointer,
                f"{name} cannot be computed from these values ({type(exc).__name__})",
                expected=f"{expression} in {unit or DIMENSIONLESS}",
            )
            return None

    # -- instruments -----------------------------------------------------------------------------------

    def instruments(self, given: Sequence[StepInstrumentIn], facts: Sequence[InstrumentFacts | None]) -> None:
        roles = {spec.role: spec for spec in self.template.instruments}
        named: set[str] = set()
        for n, entry in enumerate(given):
            where = f"/instruments/{n}"
            spec = roles.get(entry.role)
            if spec is None:
                self.fail(
                    f"{where}/role",
                    f"{self.ref} has no instrument role {entry.role!r}",
                    expected=sorted(roles) or "no instruments",
                    got=entry.role,
                )
                continue
            if entry.role in named:
                self.fail(f"{where}/role", f"the {entry.role} role is named twice", got=entry.role)
            named.add(entry.role)
            fact = facts[n] if n < len(facts) else None
            if fact is None:  # an unknown instrument: the caller reports it
                continue
            if fact.kind != spec.kind:
                self.fail(
                    f"{where}/instrument",
                    f"{fact.code} is a {fact.kind}; the {entry.role} role takes a {spec.kind}",
                    expected=spec.kind.value,
                    got=fact.kind,
                )
            elif fact.voided:
                self.fail(f"{where}/instrument", f"{fact.code} is voided", got=fact.code)
            elif self.template.requires_calibrated_equipment and (
                warning := calibration_warning(fact.code, fact.state, fact.day)
            ):
                self.out_of_range(
                    where,
                    f"{self.ref} demands calibrated equipment: {warning}",
                    expected="in_calibration",
                    got=fact.state,
                )
        for role, spec in roles.items():
            if spec.required and role not in named:
                self.fail(
                    "/instruments",
                    f"the {role} role needs an instrument (a {spec.kind})",
                    expected=role,
                    got=sorted(named),
                )

    # -- deviations ------------------------------------------------------------------------------------

    def deviations(self, given: Sequence[DeviationIn]) -> None:
        seen: set[str] = set()
        for n, deviation in enumerate(given):
            pointer = f"/deviations/{n}/field"
            excused = self.verdict.out_of_range.get(deviation.field)
            if deviation.field in seen:
                self.fail(pointer, "this field already has a deviation", got=deviation.field)
            elif excused is None:
                self.fail(
                    pointer,
                    "nothing to deviate from: this field is not out of its template's range",
                    expected=sorted(self.verdict.out_of_range) or "no deviation",
                    got=deviation.field,
                )
            else:
                self.verdict.problems.remove(excused)
                self.verdict.deviations.append(
                    Deviation(
                        field=deviation.field,
                        justification=deviation.justification,
                        expected=excused.expected,
                        got=excused.got,
                    )
                )
            seen.add(deviation.field)


def check_step(
    template: TemplateIn,
    ref: str,
    *,
    parameters: Mapping[str, Any],
    inputs: Sequence[StepInputIn],
    input_types: Sequence[str | None],
    outputs: Sequence[StepOutputIn],
    deviations: Sequence[DeviationIn],
    instruments: Sequence[StepInstrumentIn] = (),
    instrument_facts: Sequence[InstrumentFacts | None] = (),
) -> Verdict:
    """Everything the template `ref` says about these values. `input_types[n]` is the item type of
    `inputs[n]` and `instrument_facts[n]` what is known of `instruments[n]` (None when the item or the
    instrument is unknown, which the caller reports)."""
    checker = _Checker(template, ref)
    checker.parameters(parameters)
    checker.inputs(inputs, input_types)
    checker.outputs(outputs)
    checker.computed()
    checker.instruments(instruments, instrument_facts)
    checker.deviations(deviations)
    return checker.verdict


__all__ = [
    "NAMESPACES",
    "InstrumentFacts",
    "Verdict",
    "calibration_warning",
    "check_step",
    "template_problems",
]
