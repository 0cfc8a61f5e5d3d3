"""`cellprov example load`: the worked example, the reference workflow from reagent lots to coin cells."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import typer
from rich.markup import escape

from clients.cli import output
from clients.cli.connect import cli_state, connected
from clients.example import ANODE_KINDS, WorkedExample, load_worked_example

app = typer.Typer(help="The worked example: the reference workflow from reagent lots to coin cells.")


def print_example_summary(made: WorkedExample) -> None:
    cells = ", ".join(f"{kind}: {' '.join(made.cells[kind])}" for kind in ANODE_KINDS)
    output.console.print(
        f"[green]Worked example loaded:[/] {output.count(len(made.lots), 'lot')}, "
        f"{output.count(len(made.steps), 'step')}; "
        f"cells {escape(cells)}."
    )
    output.console.print(f"try: [bold]cellprov trace {made.cells['MOF@CoPc/Li'][0]}[/]", soft_wrap=True)
    output.console.print(
        f"a recall: [bold]cellprov trace --down {made.fecl3_lot} --kind cell[/]", soft_wrap=True
    )


@app.command("load")
def example_load(ctx: typer.Context) -> None:
    """Load the worked example into a running server (a non-empty database gets a copy with new codes)."""
    with connected(ctx) as client:
        made = load_worked_example(client)
    if cli_state(ctx).json:
        sys.stdout.write(
            json.dumps({**asdict(made), "fecl3_lot": made.fecl3_lot}, indent=2, ensure_ascii=False) + "\n"
        )
    else:
        print_example_summary(made)
