"""`cellprov trace` and `cellprov origin`: where an item came from, and what was made from it."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from clients.cli import output
from clients.cli.connect import JsonFlag, connected, wants_json
from schemas import (
    ItemKind,
    Lineage,
    LineageEdge,
    LineageNode,
    LineageParts,
)

app = typer.Typer()


@app.command()
def trace(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Item code to start from (a cell upstream, a lot downstream).")],
    down: Annotated[
        bool, typer.Option("--down", help="Walk downstream (what was made from it: a recall) instead of up.")
    ] = False,
    max_depth: Annotated[int | None, typer.Option(min=1, help="Stop after this many steps.")] = None,
    kind: Annotated[ItemKind | None, typer.Option(help="Only list items of this kind (e.g. cell).")] = None,
    item_type: Annotated[str | None, typer.Option("--type", help="Only list items of this type.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="tree (default), mermaid or dot.")] = "tree",
    json_output: JsonFlag = False,
) -> None:
    """Draw where an item came from (its inputs, recursively) or, with --down, everything made from it.

    \b
    cellprov trace CC-0001                       back to the reagent lots
    cellprov trace --down FECL-0001 --kind cell  the cells a lot went into
    cellprov trace CC-0001 --format mermaid      Mermaid source for a notebook
    """
    if fmt not in ("tree", "mermaid", "dot"):
        raise typer.BadParameter("choose tree, mermaid or dot", param_hint="--format")
    direction: Any = "down" if down else "up"
    with connected(ctx) as client:
        if fmt in ("mermaid", "dot") and not wants_json(ctx, json_output):
            text = client.lineage_text(
                code, direction, "mermaid" if fmt == "mermaid" else "dot",
                max_depth=max_depth, kind=kind, type=item_type,
            )  # fmt: skip
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
            return
        as_json = wants_json(ctx, json_output)
        # A filtered trace prints a table of the items: their links and records would only be dropped.
        table = not as_json and (kind is not None or item_type is not None)
        include: LineageParts = "nodes" if table else "all"
        lineage = client.lineage(
            code, direction, max_depth=max_depth, kind=kind, type=item_type, include=include
        )
    if as_json:
        output.print_json(lineage)
    elif table:
        output.console.print(_lineage_table(lineage))
    else:
        output.console.print(lineage_tree(lineage))


def lineage_tree(lineage: Lineage) -> Tree:
    """The lineage as a tree rooted at the item traced. Upstream, an item's children are its inputs;
    downstream, the items made from it. An item reached twice (a diamond: the same DMF lot in two steps)
    is shown each time but expanded only once."""
    nodes = {node.code: node for node in lineage.nodes}
    children: dict[str, list[tuple[str, list[LineageEdge]]]] = {}
    for edge in lineage.edges:
        parent, child = (
            (edge.target, edge.source) if lineage.direction == "up" else (edge.source, edge.target)
        )
        siblings = children.setdefault(parent, [])
        # One line per (item, step), with all its roles: DMF as solvent and as wash solvent is one input.
        for existing_child, edges in siblings:
            if existing_child == child and edges[0].step == edge.step:
                edges.append(edge)
                break
        else:
            siblings.append((child, [edge]))

    expanded: set[str] = set()

    def label(code: str, via: list[LineageEdge] | None) -> str:
        node = nodes.get(code)
        text = f"[bold]{escape(code)}[/]"
        if node is not None:
            text += f"  {escape(node.type)}"
            # A lot's name is the supplier's long product name; the type says enough in a tree.
            if node.name and node.kind != ItemKind.lot:
                text += f" [dim]“{escape(node.name)}”[/]"
            if node.status != "released":
                text += f" [yellow]({node.status})[/]"
        if via:
            roles = ", ".join(dict.fromkeys(edge.role for edge in via))
            text += f"  [cyan]{'as' if lineage.direction == 'down' else '←'} {escape(roles)}[/]"
            text += f" [dim]in {escape(via[0].protocol)} step #{via[0].step}[/]"
        return text

    def grow(branch: Tree, code: str) -> None:
        expanded.add(code)
        for child, via in children.get(code, []):
            if child in expanded and children.get(child):
                branch.add(label(child, via) + " [dim](see above)[/]")
                continue
            grow(branch.add(label(child, via)), child)

    tree = Tree(label(lineage.root, None))
    grow(tree, lineage.root)
    return tree


def _lineage_table(lineage: Lineage) -> Table:
    direction = "upstream of" if lineage.direction == "up" else "downstream of"
    found = [node for node in lineage.nodes if node.code != lineage.root]
    table = Table(
        "code",
        "kind",
        "type",
        "name",
        "status",
        "steps away",
        title=f"{output.count(len(found), 'item')} {direction} {lineage.root}",
    )
    for node in sorted(found, key=_node_order):
        table.add_row(
            node.code, node.kind, output.text(node.type), output.text(node.name), node.status, str(node.depth)
        )
    return table


def _node_order(node: LineageNode) -> tuple[int, str]:
    return node.depth, node.code


@app.command()
def origin(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Item code, e.g. a cell.")],
    json_output: JsonFlag = False,
) -> None:
    """For each item type upstream of an item, its nearest ancestors of that type (e.g. which FeCl3 lot)."""
    with connected(ctx) as client:
        found = client.origin(code)
    if wants_json(ctx, json_output):
        output.print_json(found)
        return
    table = Table("type", "steps away", "items", title=f"origin of {found.root}")
    for group in found.origins:
        items = "\n".join(
            f"{node.code}" + (f"  [dim]{escape(node.name)}[/]" if node.name else "") for node in group.items
        )
        table.add_row(output.text(group.type), str(group.depth), items)
    output.console.print(table)
