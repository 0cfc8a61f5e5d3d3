"""`cellprov note add`: notebook entries, linked to the records they are about."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import click
import typer
from pydantic import ValidationError
from rich.markup import escape

from clients.cli import output
from clients.cli.connect import JsonFlag, connected, wants_json

app = typer.Typer(help="Notebook entries: write what you saw, linked to the records it is about.")


EDITOR_TEMPLATE = (
    "\n# Write the entry above in Markdown. The first line is the title unless --title is given.\n"
)


def _link(code: str) -> str:
    """`CC-0001` is an item; other records are written out, e.g. `step:12`."""
    return code if ":" in code else f"item:{code}"


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
            title=title[:200], body=body, tags=tag or [], links=[_link(code) for code in link or []]
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
