"""`cellprov items list|show|history`: lots, batches and cells."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from clients.cli import output
from clients.cli.connect import JsonFlag, connected, wants_json
from schemas import (
    ItemKind,
    ItemOut,
    ItemStatus,
    ItemVersion,
    Page,
)

app = typer.Typer(help="Items (lots, batches, cells): list, show, history.")


@app.command("list")
def items_list(
    ctx: typer.Context,
    kind: Annotated[ItemKind | None, typer.Option(help="Only lots, batches or cells.")] = None,
    item_type: Annotated[str | None, typer.Option("--type", help='Only this item type, e.g. "DMF".')] = None,
    status: Annotated[ItemStatus | None, typer.Option(help="Only items with this status.")] = None,
    q: Annotated[
        str | None, typer.Option("--q", help="Text search in code, name, supplier, lot numbers.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Page size.")] = None,
    all_pages: Annotated[bool, typer.Option("--all", help="Fetch every page, not just the first.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """List items as a table, newest first as the server orders them."""
    with connected(ctx) as client:
        if all_pages:
            found = list(client.iter_items(kind=kind, type=item_type, status=status, q=q, limit=limit))
            page = Page[ItemOut](items=found, next_cursor=None)
        else:
            page = client.items(kind=kind, type=item_type, status=status, q=q, limit=limit)
    if wants_json(ctx, json_output):
        output.print_json(page)
        return
    table = Table(
        "code", "kind", "type", "name", "remaining", "status", title=output.count(len(page.items), "item")
    )
    for item in page.items:
        remaining = item.remaining if item.remaining is not None else item.quantity
        table.add_row(
            item.code,
            item.kind,
            output.text(item.type),
            output.text(item.name),
            output.text(remaining),
            item.status,
        )
    output.console.print(table)
    if page.next_cursor:
        output.console.print("[dim]More items: use --all to fetch every page.[/]")


@app.command("show")
def items_show(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Item code, e.g. FECL-0001.")],
    json_output: JsonFlag = False,
) -> None:
    """Show one item: what it is, how much is left, its status, version and the step that made it."""
    with connected(ctx) as client:
        item = client.item(code)
    if wants_json(ctx, json_output):
        output.print_json(item)
        return
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    rows: list[tuple[str, object]] = [
        ("code", item.code),
        ("type", f"{item.type} ({item.kind})"),
        ("name", item.name),
        ("status", item.status + (f" — {item.void_reason}" if item.void_reason else "")),
        ("quantity", item.quantity),
        ("remaining", item.remaining),
        ("supplier", item.supplier),
        ("catalogue no.", item.catalog_number),
        ("supplier lot", item.supplier_lot),
        ("received on", item.received_on),
        ("expires on", item.expires_on),
        ("produced by", f"step #{item.produced_by}" if item.produced_by is not None else None),
        ("version", item.version),
        ("created", f"{item.created_at:%Y-%m-%d %H:%M} by {item.created_by}"),
        ("updated", f"{item.updated_at:%Y-%m-%d %H:%M}"),
    ]
    for label, value in rows:
        if value is not None:
            table.add_row(label, output.text(value))
    for key, value in item.properties.items():
        table.add_row(f"  {escape(key)}", output.text(output.property_text(value)))
    output.console.print(Panel(table, title=f"{item.code}", expand=False))


@app.command("history")
def items_history(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Item code.")],
    json_output: JsonFlag = False,
) -> None:
    """Every version of an item: who changed what, when and why."""
    with connected(ctx) as client:
        versions = client.history(code)
    if wants_json(ctx, json_output):
        output.print_json(versions)
        return
    table = Table("version", "action", "at", "by", "reason", "changes", title=f"history of {code}")
    for version in versions:
        table.add_row(
            str(version.version),
            version.action,
            f"{version.at:%Y-%m-%d %H:%M:%S}",
            output.text(version.by),
            output.text(version.reason),
            output.text(_changes_text(version)),
        )
    output.console.print(table)


def _changes_text(version: ItemVersion) -> str:
    parts = []
    for name, change in version.changes.items():
        if isinstance(change, dict) and ("old" in change or "new" in change):
            parts.append(f"{name}: {_short(change.get('old'))} → {_short(change.get('new'))}")
        else:
            parts.append(f"{name}: {_short(change)}")
    return "\n".join(parts)


def _short(value: Any) -> str:
    text = output.property_text(value) if value is not None else "∅"
    return text if len(text) <= 60 else text[:57] + "…"
