"""`cellprov template list|show|validate`: the protocol templates; validate runs here, without a server."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
import yaml
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from clients.cli import output
from clients.cli.connect import JsonFlag, connected, wants_json
from clients.cli.parse import split_ref
from labrules.item_types import builtin_type_names
from labrules.validator import template_problems
from schemas import (
    TemplateIn,
)

app = typer.Typer(help="Protocol templates: list, show, and validate a template file.")


@app.command("list")
def template_list(
    ctx: typer.Context,
    kind: Annotated[str | None, typer.Option(help="Only process or test templates.")] = None,
    json_output: JsonFlag = False,
) -> None:
    """The protocol templates and their versions."""
    with connected(ctx) as client:
        found = client.templates(kind=kind)
    if wants_json(ctx, json_output):
        output.print_json(found)
        return
    table = Table(
        "name", "kind", "latest", "published", "retired", "title", title=output.count(len(found), "template")
    )
    for summary in found:
        table.add_row(
            summary.name,
            summary.kind,
            str(summary.latest),
            ", ".join(map(str, summary.published)),
            ", ".join(map(str, summary.retired)),
            output.text(summary.title),
        )
    output.console.print(table)


@app.command("show")
def template_show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="TEMPLATE", help="name or name@version.")],
    json_output: JsonFlag = False,
) -> None:
    """One template: its parameters with nominal values and ranges, input roles, outputs and checks."""
    name, version = split_ref(ref)
    with connected(ctx) as client:
        template = client.template(name, version)
    if wants_json(ctx, json_output):
        output.print_json(template)
        return
    output.console.print(
        f"[bold]{escape(template.ref)}[/] {escape(template.title)} ({template.kind}, {template.status})"
    )
    if template.description:
        output.console.print(escape(template.description))
    parameters = Table("parameter", "kind", "accepted", "required", title="parameters")
    for parameter in template.parameters:
        accepted = ", ".join(parameter.choices or []) or parameter.describe()
        parameters.add_row(
            parameter.name, parameter.kind, escape(accepted), "yes" if parameter.required else "no"
        )
    output.console.print(parameters)
    if template.inputs:
        roles = Table("role", "item types", "count", "amount", title="inputs")
        for role in template.inputs:
            count = (
                f"{role.min_count}–{role.max_count}" if role.max_count is not None else f">= {role.min_count}"
            )
            amount = role.amount.describe() if role.amount else ""
            roles.add_row(role.role, escape(", ".join(role.types)), count, escape(amount))
        output.console.print(roles)
    if template.outputs:
        outputs = Table("makes", "count", "quantity", "properties", "quarantined", title="outputs")
        for spec in template.outputs:
            count = f"{spec.min_count}–{spec.max_count}" if spec.max_count else f">= {spec.min_count}"
            properties = ", ".join(f"{p.name} ({p.describe()})" for p in spec.properties)
            outputs.add_row(
                escape(", ".join(spec.types)),
                count,
                escape(spec.quantity.describe() if spec.quantity else ""),
                escape(properties),
                "yes" if spec.quarantined else "no",
            )
        output.console.print(outputs)
    if template.checks or template.derived:
        rules = Table("name", "expression", "accepted", title="checks and derived values")
        for derived in template.derived:
            rules.add_row(
                derived.name, escape(derived.expression), escape(f"computed, in {derived.unit or '1'}")
            )
        for check in template.checks:
            rules.add_row(check.name, escape(check.expression), escape(check.describe()))
        output.console.print(rules)


@app.command("validate")
def template_validate(
    file: Annotated[str, typer.Argument(metavar="FILE", help="YAML or JSON template file; - for stdin.")],
) -> None:
    """Check a template file before publishing it: its shape, units, names and check expressions.

    Runs locally, without a server; item types are checked against the built-in ones only.
    """
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        body = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        output.fail(f"cannot read the template from {file}: {exc}")
    try:
        template = TemplateIn.model_validate(body)
    except ValidationError as exc:
        output.fail_with_validation(exc)
    problems = template_problems(template, builtin_type_names())
    if problems:
        table = Table(
            "field", "problem", "expected", "got", title=f"{output.count(len(problems), 'problem')} in {file}"
        )
        for item in problems:
            table.add_row(
                escape(item.pointer),
                escape(item.detail),
                output.text(output.plain(item.expected)),
                output.text(item.got),
            )
        output.err_console.print(table)
        raise typer.Exit(1)
    output.console.print(
        f"[green]{escape(template.name)} is a valid template[/]: "
        f"{output.count(len(template.parameters), 'parameter')}, "
        f"{output.count(len(template.inputs), 'input role')}, "
        f"{output.count(len(template.outputs), 'output')}, {output.count(len(template.checks), 'check')}."
    )
