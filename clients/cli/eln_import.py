"""`cellprov import FILE.eln [--dry-run] [--as-entries]`: bring an .eln archive in, with a progress bar while
it uploads and a table of what each entity became. An archive cellprov exported comes back as the same
records (items under their codes, steps, test runs, analyses, entries); another notebook's as entries."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from clients.cli import output
from clients.cli.connect import connected, wants_json

app = typer.Typer()


@app.command("import")
def import_eln(
    ctx: typer.Context,
    archive: Annotated[Path, typer.Argument(help="The .eln archive.", exists=True, dir_okay=False)],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be created; write nothing.")
    ] = False,
    as_entries: Annotated[
        bool,
        typer.Option("--as-entries", help="Take even a cellprov archive as notebook entries, not records."),
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the server's answer as JSON.")] = False,
) -> None:
    """Import an .eln archive: a cellprov export as the same records, any other archive as notebook entries
    (each dataset an entry, its files the entry's attachments)."""
    columns = (
        TextColumn("[bold]uploading[/] {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
    )
    with connected(ctx) as client, Progress(*columns, console=output.err_console, transient=True) as bar:
        task = bar.add_task(escape(archive.name), total=archive.stat().st_size)
        answer = client.import_eln(
            archive, dry_run, lambda sent: bar.update(task, completed=sent), as_entries=as_entries
        )
    if wants_json(ctx, json_output):
        output.print_json(answer)
        return
    table = Table("entity", "type", "became", "record" if answer.path == "records" else "entry", "why")
    for entity in answer.entities:
        table.add_row(
            escape(entity.id),
            escape(entity.type),
            entity.became,
            entity.record or entity.entry or "",
            escape(entity.reason),
        )
    output.console.print(table)
    verb = "would create" if answer.dry_run else "created"
    if answer.already_imported:
        output.console.print(
            f"Already imported (archive {answer.archive_sha256[:16]}…): nothing was created."
        )
    elif answer.path == "records":
        made = ", ".join(
            f"{count} {kind.replace('_', ' ')}" for kind, count in answer.created.items() if count
        )
        here = sum(answer.existing.values())
        output.console.print(
            f"A cellprov archive: {verb} the same records here ({made or 'nothing'})"
            + (f"; {here} were here already." if here else ".")
        )
    else:
        output.console.print(f"{verb} {answer.entries} entries with {answer.attachments} attachments.")
