"""`cellprov test void`: test-run commands kept apart from clients/cli.py, so that module stays small."""

from __future__ import annotations

import sys
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.markup import escape

from clients.client import CellprovError, Client
from clients.config import ConfigError, resolve

tests_app = typer.Typer()
console = Console()
err_console = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(1)


@tests_app.command("void")
def test_void(
    ctx: typer.Context,
    test_id: Annotated[int, typer.Argument(help="Test run id.")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why the run is voided (kept in the audit).")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the server's answer as JSON.")] = False,
) -> None:
    """Void a test run recorded by mistake: it stays readable, marked voided, and leaves comparisons."""
    # The root command's options (--url, --token, --json) live on its context object.
    root = ctx.find_root().obj
    try:
        config = resolve(getattr(root, "url", None), getattr(root, "token", None))
    except ConfigError as exc:
        _fail(str(exc))
    try:
        with Client(config.url, config.token) as client:
            run = client.void_test(test_id, reason)
    except CellprovError as exc:
        _fail(str(exc))
    except httpx.TransportError as exc:
        _fail(f"cannot reach the cellprov server at {config.url} ({type(exc).__name__}: {exc})")
    if json_output or getattr(root, "json", False):
        sys.stdout.write(run.model_dump_json(indent=2) + "\n")
        return
    console.print(
        f"[yellow]Test run {run.id}[/] of {escape(run.cell)} voided: {escape(run.void_reason or '')}"
    )
