"""`cellprov step log|new|show|list|void`: log a performed process (from a file, or by answering its
template's questions, each checked as it is given), read steps back, void one."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
import yaml
from pydantic import ValidationError
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from clients.cli import output
from clients.cli.connect import JsonFlag, connected, wants_json
from clients.cli.parse import split_ref
from clients.client import CellprovError
from clients.wizard import closest
from schemas import ItemStatus, StepIn, StepOut

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
    _show_logged(ctx, step, json_output)


def _show_logged(ctx: typer.Context, step: StepOut, json_output: bool) -> None:
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
    """Log a step by answering the template's questions, each checked as you give it.

    Asks the start and end, each parameter (a value out of range is kept only as a deviation, with a
    justification), the item and amount for each input role, and what was made; then shows the template's
    dry run and a summary and asks to confirm. If the server still refuses, the answers are kept in a
    YAML file for `cellprov step log FILE`.
    """
    from clients.cli.step_wizard import log_by_wizard

    name, version = split_ref(ref)
    with connected(ctx) as client:
        try:
            template = client.template(name, version)
        except CellprovError as exc:
            if exc.status != 404:
                raise
            close = closest(name, [summary.name for summary in client.templates()])
            output.fail_with_problem(exc, [f"did you mean {close}?"] if close else [])
        step = log_by_wizard(client, template, output.console, output.err_console, _show_refusal)
    if step is None:
        raise typer.Exit(1)
    _show_logged(ctx, step, json_output)


def _show_refusal(exc: CellprovError) -> None:
    if exc.errors:
        output.print_violations(exc)
    else:
        output.print_problem(exc)


@app.command("show")
def step_show(
    ctx: typer.Context,
    step_id: Annotated[int, typer.Argument(metavar="ID", help="Step id, e.g. 12.")],
    json_output: JsonFlag = False,
) -> None:
    """One step: protocol, who and when, parameters, inputs with amounts, what it made, its deviations."""
    with connected(ctx) as client:
        step = client.step(step_id)
    if wants_json(ctx, json_output):
        output.print_json(step)
        return
    status = step.status + (f" — {step.void_reason}" if step.void_reason else "")
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("protocol", output.text(step.protocol))
    table.add_row("status", output.text(status))
    table.add_row("operator", output.text(step.operator))
    if step.started_at or step.ended_at:
        table.add_row("performed", output.text(f"{_when(step.started_at)} – {_when(step.ended_at)}"))
    for name, value in step.parameters.items():
        table.add_row(
            f"  {escape(name)}", output.text(output.plain(value) if isinstance(value, dict) else value)
        )
    for used in step.inputs:
        amount = f"  {output.quantity_text(used.amount)}" if used.amount else ""
        table.add_row(escape(used.role), escape(f"{used.item.code}  {used.item.type}{amount}"))
    for made in step.outputs:
        table.add_row("made", escape(f"{made.code}  {made.type}" + (f" “{made.name}”" if made.name else "")))
    for name, value in step.computed.items():
        table.add_row(f"  {escape(name)}", escape(output.quantity_text(value)))
    for deviation in step.deviations:
        got, expected = output.plain(deviation.got), output.plain(deviation.expected)
        said = f"{deviation.field}: {got} (expected {expected}) — {deviation.justification}"
        table.add_row("[yellow]deviation[/]", escape(said))
    if step.notes:
        table.add_row("notes", escape(step.notes))
    output.console.print(Panel(table, title=f"step #{step.id}", expand=False))


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "?"


@app.command("list")
def step_list(
    ctx: typer.Context,
    protocol: Annotated[
        str | None, typer.Option(help="Only steps under this protocol, name@version.")
    ] = None,
    item: Annotated[str | None, typer.Option(help="Only steps that used or made this item.")] = None,
    deviating: Annotated[bool, typer.Option("--deviating", help="Only steps with deviations.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    json_output: JsonFlag = False,
) -> None:
    """Steps, newest first: what was done, by whom, under which protocol."""
    with connected(ctx) as client:
        page = client.steps(protocol=protocol, item=item, deviating=True if deviating else None, limit=limit)
    if wants_json(ctx, json_output):
        output.print_json(page)
        return
    table = Table("step", "protocol", "operator", "created", "inputs", "made", "status",
                  title=output.count(len(page.items), "step"))  # fmt: skip
    for step in page.items:
        status = step.status + (" [yellow](deviating)[/]" if step.deviating else "")
        table.add_row(
            f"#{step.id}",
            output.text(step.protocol),
            output.text(step.operator),
            f"{step.created_at:%Y-%m-%d %H:%M}",
            escape(", ".join(used.item.code for used in step.inputs)),
            escape(", ".join(made.code for made in step.outputs)),
            status,
        )
    output.console.print(table)
    if page.next_cursor:
        output.console.print("[dim]More steps: raise --limit or filter.[/]")


@app.command("void")
def step_void(
    ctx: typer.Context,
    step_id: Annotated[int, typer.Argument(metavar="ID", help="Step id.")],
    reason: Annotated[
        str, typer.Option("--reason", "-r", help="Why it is voided (kept in the audit trail).")
    ],
    json_output: JsonFlag = False,
) -> None:
    """Void a step logged by mistake: it stays readable, marked voided, and gives back what it used."""
    with connected(ctx) as client:
        step = client.void_step(step_id, reason)
    if wants_json(ctx, json_output):
        output.print_json(step)
        return
    output.console.print(
        f"[yellow]Voided step #{step.id}[/] ({output.text(step.protocol)}): {output.text(reason)}"
    )
