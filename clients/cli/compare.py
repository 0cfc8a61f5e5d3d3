"""`cellprov compare`: test metrics of many cells, grouped by what is upstream of them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from clients.cli import output
from clients.cli.connect import JsonFlag, connected, wants_json

app = typer.Typer()


@app.command()
def compare(
    ctx: typer.Context,
    by: Annotated[
        str,
        typer.Option(
            help="cell, role:<input role> (e.g. role:anode) or type:<item type> (e.g. type:MOF@CoPc)."
        ),
    ] = "role:anode",
    protocol: Annotated[str | None, typer.Option(help="Only runs under this test protocol.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Also save a comparison plot (.png or .svg).")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Compare test metrics of many cells, grouped by what is upstream of them: did this batch do better?"""
    with connected(ctx) as client:
        comparison = client.compare(by, protocol)
        if plot is not None:
            plot.write_bytes(
                client.compare_plot(by, protocol, "svg" if plot.suffix.lower() == ".svg" else "png")
            )
    if wants_json(ctx, json_output):
        output.print_json(comparison)
        return
    names = sorted({name for group in comparison.groups for name in group.mean})
    preferred = [
        n
        for n in (
            "initial_specific_capacity",
            "capacity_retention",
            "fade_per_cycle",
            "average_ce",
            "cycles_to_80pct",
            "hours_to_overpotential_limit",
        )
        if n in names
    ] or names[:5]
    table = Table(
        title=f"test metrics by {escape(comparison.by)}" + (f" ({escape(protocol)})" if protocol else "")
    )
    table.add_column("group")
    table.add_column("cells", justify="right")
    for name in preferred:
        table.add_column(f"mean {name}", justify="right")
    for group in comparison.groups:
        table.add_row(
            output.text(group.group),
            str(group.n),
            *[output.number(group.mean.get(n), digits=4) for n in preferred],
        )
    output.console.print(table)
    if plot is not None:
        output.console.print(f"plot saved to {escape(str(plot))}")
