"""`cellprov note add|list|show`: notebook entries, linked to the records they are about."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import click
import typer
from pydantic import ValidationError
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from clients.cli import output
from clients.cli.connect import JsonFlag, connected, wants_json
from clients.cli.parse import record_ref

app = typer.Typer(help="Notebook entries: write what you saw, linked to the records it is about.")


EDITOR_TEMPLATE = (
    "\n# Write the entry above in Markdown. The first line is the title unless --title is given.\n"
)


def _from_editor() -> str:
    written = click.edit(EDITOR_TEMPLATE, extension=".md")
    if written is None:
        raise output.fail("the editor was closed without saving; nothing was written")
    return "\n".join(line for line in written.splitlines() if not line.startswith("# Write the entry above"))


@app.command("add")
def note_add(
    ctx: typer.Context,
    text: Annotated[
        str | None, typer.Argument(help="The entry in Markdown; '-' reads stdin; none opens $EDITOR.")
    ] = None,
    link: Annotated[
        list[str] | None, typer.Option("--link", help="A record it is about: CC-0001, or step:12 (repeat).")
    ] = None,
    file: Annotated[
        list[Path] | None,
        typer.Option("--file", exists=True, dir_okay=False, help="A file to attach (repeat)."),
    ] = None,
    title: Annotated[str | None, typer.Option(help="Default: the first line of the text.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeat).")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Write a notebook entry: `cellprov note add --link CC-0001 --file liner.jpg "Liner discoloured"`."""
    from schemas.entries import EntryIn

    body = sys.stdin.read() if text == "-" else text if text is not None else _from_editor()
    body = body.strip()
    if title is None:
        first, _, rest = body.partition("\n")
        title, body = first.lstrip("# ").strip(), rest.strip() if first.startswith("#") else body
    if not title:
        output.fail("the entry is empty: give a text, or a --title")
    try:
        entry = EntryIn(
            title=title[:200], body=body, tags=tag or [], links=[record_ref(code) for code in link or []]
        )
    except ValidationError as exc:
        output.fail_with_validation(exc)
    with connected(ctx) as client:
        written = client.write_entry(entry, files=file or [])
    if wants_json(ctx, json_output):
        output.print_json(written)
        return
    attached = f", {output.count(len(written.attachments), 'file')} attached" if written.attachments else ""
    output.console.print(
        f'Wrote entry [bold]{written.id}[/] "{escape(written.title)}"'
        f"{' about ' + escape(', '.join(written.links)) if written.links else ''}{attached}."
    )


@app.command("list")
def note_list(
    ctx: typer.Context,
    link: Annotated[
        str | None, typer.Option("--link", help="Only entries about this record: CC-0001, step:12.")
    ] = None,
    tag: Annotated[str | None, typer.Option(help="Only entries with this tag.")] = None,
    author: Annotated[str | None, typer.Option(help="Only entries by this username.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    json_output: JsonFlag = False,
) -> None:
    """Notebook entries, newest first."""
    record = record_ref(link) if link else None
    with connected(ctx) as client:
        page = client.entries(record=record, tag=tag, author=author, limit=limit)
    if wants_json(ctx, json_output):
        output.print_json(page)
        return
    table = Table(
        "entry",
        "date",
        "author",
        "title",
        "about",
        "tags",
        title=output.count(len(page.items), "entry", "entries"),
    )
    for entry in page.items:
        title = escape(entry.title) + (" [yellow](voided)[/]" if entry.status == "voided" else "")
        table.add_row(
            str(entry.id),
            f"{entry.date}",
            escape(entry.author),
            title,
            escape(", ".join(entry.links)),
            escape(", ".join(entry.tags)),
        )
    output.console.print(table)
    if page.next_cursor:
        output.console.print("[dim]More entries: raise --limit or filter.[/]")


@app.command("show")
def note_show(
    ctx: typer.Context,
    entry_id: Annotated[int, typer.Argument(metavar="ID", help="Entry id.")],
    json_output: JsonFlag = False,
) -> None:
    """One entry: its text, what it is about, its files and who wrote it when."""
    with connected(ctx) as client:
        entry = client.entry(entry_id)
    if wants_json(ctx, json_output):
        output.print_json(entry)
        return
    status = f" [yellow]voided: {escape(entry.void_reason or '')}[/]" if entry.status == "voided" else ""
    output.console.print(f"[bold]{escape(entry.title)}[/]  [dim]entry {entry.id} v{entry.version}[/]{status}")
    output.console.print(f"{entry.date} by {escape(entry.author_name)} ({escape(entry.author)})")
    if entry.links:
        output.console.print(f"about {escape(', '.join(entry.links))}")
    if entry.tags:
        output.console.print(f"tags {escape(', '.join(entry.tags))}")
    if entry.body:
        output.console.print(Markdown(entry.body))
    for attachment in entry.attachments:
        output.console.print(
            f"  📎 {escape(attachment.name)} ({attachment.size:,} bytes, {escape(attachment.media_type)})"
        )
