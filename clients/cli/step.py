"""`cellprov step log|new`: log a performed process from a file or by answering its template's questions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer
import yaml
from pydantic import ValidationError
from rich.markup import escape

from clients.cli import output
from clients.cli.connect import JsonFlag, connected, wants_json
from clients.cli.parse import split_ref
from clients.client import CellprovError
from schemas import (
    InputRole,
    ItemStatus,
    OutputSpec,
    ParameterKind,
    ParameterSpec,
    Quantity,
    StepIn,
    StepInputIn,
    StepOutputIn,
)

app = typer.Typer(help="Steps: log a performed process (synthesis, coating, assembly …).")


@app.command("log")
def step_log(
    ctx: typer.Context,
    file: Annotated[
        str,
        typer.Argument(metavar="FILE", help="JSON or YAML file with the step (a StepIn body); - for stdin."),
    ],
    json_output: JsonFlag = False,
) -> None:
    """Log a performed step from a file: protocol, parameters, inputs with roles and amounts, outputs.

    \b
    protocol: nh2-mil-101-fe-hydrothermal@1
    parameters: {temperature: 110 degC, duration: 24 h}
    inputs:
      - {role: iron_source, item: FECL-0001, amount: 2.75 g}
    outputs:
      - {type: NH2-MIL-101(Fe), quantity: 0.9 g}
    """
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        body = yaml.safe_load(text)  # YAML is a superset of JSON, so one parser reads both
    except (OSError, yaml.YAMLError) as exc:
        output.fail(f"cannot read the step from {file}: {exc}")
    try:
        step_in = StepIn.model_validate(body)
    except ValidationError as exc:
        output.fail_with_validation(exc)
    _submit_step(ctx, step_in, json_output)


def _submit_step(ctx: typer.Context, step_in: StepIn, json_output: bool) -> None:
    """Log the step; a refusal is shown as a table of violations: where, what, expected, got."""
    with connected(ctx) as client:
        try:
            step = client.log_step(step_in)
        except CellprovError as exc:
            if not exc.errors:
                raise
            output.print_violations(exc)
            raise typer.Exit(1) from None
    if wants_json(ctx, json_output):
        output.print_json(step)
        return
    output.console.print(
        f"Logged step [bold]#{step.id}[/] ({output.text(step.protocol)}), status {step.status}."
    )
    for deviation in step.deviations:
        output.console.print(
            f"  [yellow]deviation[/] {output.text(deviation.field)}: got {output.text(deviation.got)}, "
            f"expected {output.text(deviation.expected)} — {output.text(deviation.justification)}"
        )
    for made in step.outputs:
        suffix = " [yellow](quarantined until released)[/]" if made.status == ItemStatus.quarantined else ""
        output.console.print(
            f"  made [bold]{made.code}[/]  {output.text(made.type)}  {output.text(made.name)}{suffix}"
        )


@app.command("new")
def step_new(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="TEMPLATE", help="Template to follow: name or name@version.")],
    json_output: JsonFlag = False,
) -> None:
    """Log a step by answering the template's questions one by one, then submit it.

    Each parameter is asked with its nominal value and accepted range (Enter skips an optional one); then
    the item code and amount for each input role, then what was made.
    """
    name, version = split_ref(ref)
    with connected(ctx) as client:
        template = client.template(name, version)
    output.console.print(f"[bold]{escape(template.ref)}[/] {escape(template.title)}")
    parameters: dict[str, Any] = {}
    for parameter in template.parameters:
        answer = _ask_parameter(parameter)
        if answer is not None:
            parameters[parameter.name] = answer
    inputs: list[StepInputIn] = []
    for role in template.inputs:
        inputs += _ask_role(role)
    outputs = [_ask_output(spec) for spec in template.outputs]
    notes = typer.prompt("notes", default="", show_default=False) or None
    try:
        step_in = StepIn(
            protocol=template.ref,
            parameters=parameters,
            inputs=inputs,
            outputs=[o for o in outputs if o is not None],
            notes=notes,
        )
    except ValidationError as exc:
        output.fail_with_validation(exc)
    _submit_step(ctx, step_in, json_output)


def _ask_parameter(parameter: ParameterSpec) -> Any:
    optional = "" if parameter.required else ", optional"
    if parameter.kind == ParameterKind.choice:
        choices = parameter.choices or []
        default = choices[0] if len(choices) == 1 else None
        return typer.prompt(f"{parameter.name} [{' | '.join(choices)}{optional}]", default=default)
    if parameter.kind == ParameterKind.bool:
        return typer.confirm(parameter.name)
    hint = (
        parameter.describe() if parameter.kind in (ParameterKind.quantity, ParameterKind.number) else "text"
    )
    default = None
    if parameter.nominal is not None:
        default = f"{parameter.nominal:g}" + (f" {parameter.unit}" if parameter.unit else "")
    while True:
        text = typer.prompt(
            f"{parameter.name} ({hint}{optional})",
            default=default if default is not None else ("" if not parameter.required else None),
            show_default=default is not None,
        ).strip()
        if not text and not parameter.required:
            return None
        if parameter.kind == ParameterKind.text:
            return text
        if parameter.kind == ParameterKind.number:
            try:
                return float(text)
            except ValueError:
                output.err_console.print(f"[red]{escape(text)!r} is not a number[/]")
                continue
        try:
            return Quantity.model_validate(
                text if " " in text or not parameter.unit else f"{text} {parameter.unit}"
            )
        except ValidationError:
            output.err_console.print(f"[red]{escape(text)!r} is not a quantity like '110 degC'[/]")


def _ask_role(role: InputRole) -> list[StepInputIn]:
    entries: list[StepInputIn] = []
    most = role.max_count if role.max_count is not None else 100
    while len(entries) < most:
        needed = len(entries) < role.min_count
        label = f"{role.role} item code ({', '.join(role.types)})" + ("" if needed else ", Enter when done")
        code = typer.prompt(label, default=None if needed else "", show_default=False).strip()
        if not code:
            break
        amount: Quantity | None = None
        if role.amount is not None:
            while True:
                text = typer.prompt(
                    f"  amount of {code} ({role.amount.describe()})",
                    default="" if not role.amount.required else None,
                    show_default=False,
                ).strip()
                if not text:
                    break
                try:
                    amount = Quantity.model_validate(text)
                    break
                except ValidationError:
                    output.err_console.print(f"[red]{escape(text)!r} is not a quantity like '2.75 g'[/]")
        entries.append(StepInputIn(role=role.role, item=code, amount=amount))
    return entries


def _ask_output(spec: OutputSpec) -> StepOutputIn | None:
    if len(spec.types) == 1:
        type_name = spec.types[0]
    else:
        type_name = typer.prompt(f"makes [{' | '.join(spec.types)}]", type=click.Choice(spec.types))
    count = typer.prompt(f"how many {type_name}", default=max(spec.min_count, 1), type=int)
    if count == 0:
        return None
    quantity = None
    if spec.quantity is not None:
        text = typer.prompt(
            f"  quantity of each {type_name} ({spec.quantity.describe()})",
            default="" if not spec.quantity.required else None,
            show_default=False,
        ).strip()
        quantity = Quantity.model_validate(text) if text else None
    properties: dict[str, Any] = {}
    for prop in spec.properties:
        text = typer.prompt(
            f"  {prop.name} ({prop.describe()})",
            default="" if not prop.required else None,
            show_default=False,
        ).strip()
        if text:
            properties[prop.name] = Quantity.model_validate(text).model_dump() if prop.unit else text
    return StepOutputIn(type=type_name, count=count, quantity=quantity, properties=properties)
