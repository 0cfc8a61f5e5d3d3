"""`cellprov compare`: test metrics of many cells, grouped by what is upstream of them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape
from rich.table import Table

from clients.cli import output
from clients.cli.connect import JsonFlag, connected, wants_json
from schemas.cycling import Comparison

app = typer.Typer()


@app.command()
def compare(
    ctx: typer.Context,
    by: Annotated[
        str,
        typer.Option(
            help="cell, role:<input role> (e.g. role:anode) or type:<item type> (e.g. type:MOF@CoPc)."
        ),
    ] = "",
    protocol: Annotated[str | None, typer.Option(help="Only runs under this test protocol.")] = None,
    cell: Annotated[
        list[str] | None,
        typer.Option("--cell", help="Only these cells (repeat); grouped by cell unless --by."),
    ] = None,
    made_from: Annotated[
        str | None,
        typer.Option("--from", help="Only the cells made from this item (a lot, a batch), each on its own."),
    ] = None,
    cohort: Annotated[
        list[str] | None,
        typer.Option(help="NAME:descends_from=CODE (repeat it): group by cohort, list upstream differences."),
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Also save a comparison plot (.png or .svg).")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Compare test metrics of many cells, grouped by what is upstream of them: did this batch do better?

    \b
    cellprov compare                              grouped by the anode each cell was built with
    cellprov compare --by type:MOF@CoPc           by the MOF@CoPc batch upstream of each cell
    cellprov compare --cell CC-0001 --cell CC-0002   these cells, side by side
    cellprov compare --from MCP-0001              the cells made from this batch
    cellprov compare --cohort copc:descends_from=MCP-0001 --cohort bare:descends_from=MOF-0001
    """
    chosen = list(cell or [])
    with connected(ctx) as client:
        if made_from is not None:
            # Which cells descend from an item is the lineage's answer; compare then takes them by code.
            lineage = client.lineage(made_from, "down", kind="cell", include="nodes")
            chosen += [node.code for node in lineage.nodes if node.code != lineage.root]
            if not chosen:
                output.fail(f"no cell was made from {made_from}")
        grouping = by or ("cell" if chosen else "role:anode")
        comparison = client.compare(grouping, protocol, chosen or None, cohort)
        if plot is not None:
            fmt: Literal["png", "svg"] = "svg" if plot.suffix.lower() == ".svg" else "png"
            plot.write_bytes(client.compare_plot(grouping, protocol, fmt, chosen or None, cohort))
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
    cells_in = output.count(len({row.cell for group in comparison.groups for row in group.tests}), "cell")
    scope = f", cells made from {escape(made_from)}" if made_from else ""
    table = Table(
        title=f"test metrics of {cells_in} by {escape(comparison.by)}{scope}"
        + (f" ({escape(protocol)})" if protocol else "")
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
    print_upstream_differences(comparison)
    if plot is not None:
        output.console.print(f"plot saved to {escape(str(plot))}")


def print_upstream_differences(comparison: Comparison) -> None:
    """Under a cohort comparison's table: what differs between the cohorts' ancestries."""
    differences = comparison.upstream_differences
    if differences is None:
        return
    names = [cohort.name for cohort in comparison.cohorts]
    table = Table("upstream difference", *names)
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
        output.console.print(table)
    else:
        output.console.print("no upstream differences between the cohorts' ancestries")
