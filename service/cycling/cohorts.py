"""Cohorts by lineage: cells grouped by what they descend from, and what differs upstream between the groups.

`cohort=NAME:descends_from=CODE` names a cohort: every cell downstream of item CODE (a batch, a lot, a cathode
sheet). The question it answers is the one a lab asks when one batch's cells fade faster: which protocol
parameters, deviations and upstream items differ between the ancestries of the two groups of cells?
"""

import re
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from schemas.cycling import (
    Cohort,
    ParameterDifference,
    UpstreamDeviation,
    UpstreamDifferences,
    UpstreamItemDifference,
)
from service.cycling.queries import ancestry_of, cells_descending_from, steps_making
from service.errors import Invalid, problem
from service.items.tables import Item

SYNTAX = "NAME:descends_from=CODE, e.g. coated:descends_from=MCP-0001"
_COHORT = re.compile(r"^(?P<name>[^:=]{1,60}):descends_from=(?P<code>[^\s:=]{1,64})$")
MAX_COHORTS = 12


@dataclass(frozen=True)
class Found:
    cohort: Cohort
    cell_ids: list[int]


def parse(texts: list[str]) -> list[tuple[str, str]]:
    """(name, code) of each `NAME:descends_from=CODE`; names must be distinct."""
    if len(texts) > MAX_COHORTS:
        raise Invalid("too many cohorts", [problem("query:cohort", f"at most {MAX_COHORTS}", got=len(texts))])
    parsed: list[tuple[str, str]] = []
    for given in texts:
        match = _COHORT.match(given.strip())
        if match is None:
            raise Invalid(
                "a cohort is NAME:descends_from=CODE",
                [problem("query:cohort", "not a cohort", expected=SYNTAX, got=given[:200])],
            )
        name, code = match["name"].strip(), match["code"]
        if any(name == seen for seen, _ in parsed):
            raise Invalid(
                f"cohort {name!r} is named twice", [problem("query:cohort", "names must differ", got=name)]
            )
        parsed.append((name, code))
    return parsed


def find(session: Session, parsed: list[tuple[str, str]]) -> list[Found]:
    found = []
    for name, code in parsed:
        root = session.exec(select(Item).where(Item.code == code)).first()
        if root is None or root.id is None:
            raise Invalid(
                f"cohort {name!r}: no item with code {code!r}",
                [problem("query:cohort", "descends_from names no item", got=code)],
            )
        cells = cells_descending_from(session, root.id)
        found.append(
            Found(Cohort(name=name, descends_from=code, cells=[c for _, c in cells]), [i for i, _ in cells])
        )
    return found


def _shown(value: Any) -> str:
    """A parameter value as a reader writes it: `75 degC` for a quantity, the text or number otherwise."""
    if isinstance(value, dict) and "value" in value:
        unit = value.get("unit") or ""
        return f"{value['value']:g} {unit}".strip() if isinstance(value["value"], int | float) else str(value)
    return str(value)


def differences(session: Session, cohorts: list[Found]) -> UpstreamDifferences:
    """What the cohorts' ancestries do not share: protocols only some went through, parameters of shared
    protocols at other values, upstream items of a type that differ, and the deviations not shared by all."""
    names = [found.cohort.name for found in cohorts]
    values: dict[tuple[str, str], dict[str, set[str]]] = {}
    protocols: dict[str, set[str]] = {}
    deviations: dict[str, dict[tuple[int, str], UpstreamDeviation]] = {}
    items: dict[str, dict[str, set[str]]] = {}
    for found in cohorts:
        name = found.cohort.name
        ancestry = ancestry_of(session, found.cell_ids)
        for _, code, kind, type_name in ancestry:
            if kind != "cell":
                items.setdefault(type_name, {n: set() for n in names})[name].add(code)
        steps = steps_making(session, [row[0] for row in ancestry])
        protocols[name] = {step.protocol for step in steps}
        deviations[name] = {}
        for step in steps:
            assert step.id is not None
            for parameter, value in step.parameters.items():
                values.setdefault((step.protocol, parameter), {}).setdefault(name, set()).add(_shown(value))
            for deviation in step.deviations:
                field = str(deviation.get("field", ""))
                deviations[name][(step.id, field)] = UpstreamDeviation(
                    step=step.id,
                    protocol=step.protocol,
                    field=field,
                    expected=deviation.get("expected"),
                    got=deviation.get("got"),
                    justification=str(deviation.get("justification", "")),
                )
    shared = set.intersection(*protocols.values()) if protocols else set()
    parameters = [
        ParameterDifference(
            protocol=protocol, parameter=parameter, values={n: sorted(per[n]) for n in names if n in per}
        )
        for (protocol, parameter), per in sorted(values.items())
        if protocol in shared and len({frozenset(per.get(n, set())) for n in names}) > 1
    ]
    common_deviations = set.intersection(*(set(d) for d in deviations.values())) if deviations else set()
    return UpstreamDifferences(
        parameters=parameters,
        protocols_only_in={n: sorted(protocols[n] - shared) for n in names if protocols[n] - shared},
        items=[
            UpstreamItemDifference(type=type_name, items={n: sorted(per[n]) for n in names})
            for type_name, per in sorted(items.items())
            if len({frozenset(codes) for codes in per.values()}) > 1
        ],
        deviations={
            n: [d for key, d in sorted(deviations[n].items()) if key not in common_deviations]
            for n in names
            if set(deviations[n]) - common_deviations
        },
    )
