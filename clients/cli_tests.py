"""`cellprov test void` and `cellprov test check`: test-run commands kept apart from clients/cli.py, so that
module stays small."""

from __future__ import annotations

import sys
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from clients.client import CellprovError, Client
from clients.config import ConfigError, resolve
from schemas.cycling import Comparison

tests_app = typer.Typer()
console = Console()
err_console = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(1)


def _client(ctx: typer.Context) -> tuple[Client, bool]:
    """A client for the root command's options (--url, --token, --json live on its context object)."""
    root = ctx.find_root().obj
    try:
        config = resolve(getattr(root, "url", None), getattr(root, "token", None))
    except ConfigError as exc:
        _fail(str(exc))
    return Client(config.url, config.token), bool(getattr(root, "json", False))


@tests_app.command("check")
def test_check(
    ctx: typer.Context,
    test_id: Annotated[int, typer.Argument(help="Test run id.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the server's answer as JSON.")] = False,
) -> None:
    """A test run's plausibility warnings and the convention behind each metric; exit 2 on an error."""
    client, wants_json = _client(ctx)
    try:
        with client:
            run = client.test_run(test_id)
    except CellprovError as exc:
        _fail(str(exc))
    except httpx.TransportError as exc:
        _fail(f"cannot reach the cellprov server at {client.base_url} ({type(exc).__name__}: {exc})")
    if json_output or wants_json:
        sys.stdout.write(run.model_dump_json(indent=2) + "\n")
    else:
        status = f" [yellow]voided: {escape(run.void_reason or '')}[/]" if run.status == "voided" else ""
        console.print(f"Test run {run.id} of {escape(run.cell)} ({escape(run.protocol)}){status}")
        for warning in run.warnings:
            colour = "red" if warning.level == "error" else "yellow"
            console.print(
                f"  [{colour}]{warning.level}[/] {escape(warning.check)}: {escape(warning.message)}"
            )
        if not run.warnings:
            console.print("  [green]no plausibility warnings[/]")
        table = Table("metric", "value", "unit", "convention")
        for metric in run.metrics:
            value = "—" if metric.value is None else f"{metric.value:.4g}"
            table.add_row(metric.name, value, metric.unit, metric.convention)
        console.print(table)
    if any(w.level == "error" for w in run.warnings):
        raise typer.Exit(2)


@tests_app.command("void")
def test_void(
    ctx: typer.Context,
    test_id: Annotated[int, typer.Argument(help="Test run id.")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why the run is voided (kept in the audit).")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the server's answer as JSON.")] = False,
) -> None:
    """Void a test run recorded by mistake: it stays readable, marked voided, and leaves comparisons."""
    client, wants_json = _client(ctx)
    try:
        with client:
            run = client.void_test(test_id, reason)
    except CellprovError as exc:
        _fail(str(exc))
    except httpx.TransportError as exc:
        _fail(f"cannot reach the cellprov server at {client.base_url} ({type(exc).__name__}: {exc})")
    if json_output or wants_json:
        sys.stdout.write(run.model_dump_json(indent=2) + "\n")
        return
    console.print(
        f"[yellow]Test run {run.id}[/] of {escape(run.cell)} voided: {escape(run.void_reason or '')}"
    )


def print_upstream_differences(comparison: Comparison) -> None:
    """Under a cohort comparison's table: what differs between the cohorts' ancestries."""
    differences = comparison.upstream_differences
    if differences is None:
        return
    table = Table("upstream difference", *[cohort.name for cohort in comparison.cohorts])
    names = [cohort.name for cohort in comparison.cohorts]
    for parameter in differences.parameters:
        table.add_row(
            f"{parameter.protocol} {parameter.parameter}",
            *[", ".join(parameter.values.get(name, [])) or "—" for name in names],
        )
    for name, protocols in differences.protocols_only_in.items():
        table.add_row("steps only in " + name, *[", ".join(protocols) if n == name else "" for n in names])
    for name, deviations in differences.deviations.items():
        shown = "; ".join(f"step {d.step} {d.field}: {d.got} (expected {d.expected})" for d in deviations)
        table.add_row("deviations", *[shown if n == name else "" for n in names])
    for item in differences.items:
        table.add_row(item.type, *[", ".join(item.items.get(name, [])) or "—" for name in names])
    if table.row_count:
        console.print(table)
    else:
        console.print("no upstream differences between the cohorts' ancestries")
