"""`cellprov items list|show|history|correct|void|release`: lots, batches and cells."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from clients.cli import output
from clients.cli.connect import JsonFlag, connected, wants_json
from clients.cli.parse import parse_property
from clients.client import CellprovError
from clients.wizard import closest
from schemas import (
    ItemKind,
    ItemOut,
    ItemPatch,
    ItemStatus,
    ItemVersion,
    Page,
)

app = typer.Typer(help="Items (lots, batches, cells): list, show, history, correct, void, release.")


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


# -- corrections, voiding, release -----------------------------------------------------------------------

CORRECTABLE = ("name", "quantity", "supplier", "catalog_number", "supplier_lot", "received_on", "expires_on")


def _correction(sets: list[str], reason: str) -> ItemPatch:
    """`--set FIELD=VALUE` options as a correction; `prop.KEY=VALUE` sets a property, `prop.KEY=null`
    removes it."""
    fields: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for given in sets:
        key, sep, raw = given.partition("=")
        key = key.strip()
        if not sep or not key:
            output.fail(f"--set {given!r}: write FIELD=VALUE, e.g. supplier=Merck or prop.purity=99.5 %")
        if key.startswith(("prop.", "properties.")):
            name = key.split(".", 1)[1]
            properties[name] = None if raw.strip() == "null" else parse_property(f"{name}={raw}")[1]
        elif key in CORRECTABLE:
            fields[key] = raw.strip() or None
        else:
            close = closest(key, [*CORRECTABLE, "prop.KEY"])
            output.fail(
                f"{key} is not a field you can correct"
                + (f" — did you mean {close}?" if close else f" (fields: {', '.join(CORRECTABLE)}, prop.KEY)")
            )
    if properties:
        fields["properties"] = properties
    try:
        return ItemPatch.model_validate({"reason": reason, **fields})
    except ValidationError as exc:
        output.fail_with_validation(exc)


def _show_changes(versions: list[ItemVersion]) -> None:
    for version in versions:
        output.err_console.print(
            f"  v{version.version} {escape(version.action)} by {escape(version.by)} "
            f"at {version.at:%Y-%m-%d %H:%M}" + (f" — {escape(version.reason)}" if version.reason else "")
        )
        for line in _changes_text(version).splitlines():
            output.err_console.print(f"    {escape(line)}")


@app.command("correct")
def items_correct(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Item code, e.g. FECL-0001.")],
    sets: Annotated[
        list[str],
        typer.Option("--set", help="FIELD=VALUE to change (repeatable): supplier=Merck, prop.purity=99.5 %."),
    ],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (kept in the item's history).")],
    seen_version: Annotated[
        int | None,
        typer.Option(help="The version you corrected (default: the current one, read for you)."),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Correct an item: a new version with a reason. If somebody changed it since the version you saw,
    you are shown what changed and asked before your correction is applied on top."""
    patch = _correction(sets, reason)
    with connected(ctx) as client:
        seen = client.item(code).version if seen_version is None else seen_version
        while True:
            try:
                item = client.correct_item(code, patch, if_match=f'"{seen}"')
                break
            except CellprovError as exc:
                if exc.status != 412:
                    raise
            current = client.item(code)
            output.err_console.print(f"[yellow]{escape(code)} changed since version {seen}:[/]")
            _show_changes([v for v in client.history(code) if v.version > seen])
            if not typer.confirm(f"Apply your correction to version {current.version}?", default=False):
                output.fail(f"nothing was changed; {code} stays at version {current.version}")
            seen = current.version
        latest = client.history(code)[-1]
    if wants_json(ctx, json_output):
        output.print_json(item)
        return
    output.console.print(f"Corrected [bold]{escape(item.code)}[/]: now version {item.version}.")
    for line in _changes_text(latest).splitlines():
        output.console.print(f"  {escape(line)}")


@app.command("void")
def items_void(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Item code.")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why it is voided (kept in its history).")],
    json_output: JsonFlag = False,
) -> None:
    """Void an item recorded by mistake: it stays readable, marked voided, and can no longer be used."""
    with connected(ctx) as client:
        item = client.void_item(code, reason)
    if wants_json(ctx, json_output):
        output.print_json(item)
        return
    output.console.print(
        f"[yellow]Voided {escape(item.code)}[/] ({output.text(item.type)}): {output.text(item.void_reason)}"
    )


@app.command("release")
def items_release(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Code of a quarantined item.")],
    note: Annotated[str | None, typer.Option(help="What the review found, e.g. 'XRD matches'.")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Release a quarantined item after quality review (reviewers), so steps may use it."""
    with connected(ctx) as client:
        item = client.release_item(code, note)
    if wants_json(ctx, json_output):
        output.print_json(item)
        return
    output.console.print(
        f"[green]Released {escape(item.code)}[/] ({output.text(item.type)}), v{item.version}."
    )
