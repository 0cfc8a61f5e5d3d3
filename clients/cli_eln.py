"""`cellprov import FILE.eln [--dry-run]`: bring another notebook's (or cellprov's) .eln archive in as
notebook entries, with a progress bar while it uploads and a table of what each entity became."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from clients.cli_tests import _client, _fail

eln_app = typer.Typer()
console = Console()


@eln_app.command("import")
def import_eln(
    ctx: typer.Context,
    archive: Annotated[Path, typer.Argument(help="The .eln archive.", exists=True, dir_okay=False)],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be created; write nothing.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the server's answer as JSON.")] = False,
) -> None:
    """Import an .eln archive: each dataset becomes a notebook entry, its files the entry's attachments."""
    client, wants_json = _client(ctx)
    size = archive.stat().st_size
    try:
        with (
            client,
            Progress(
                TextColumn("[bold]uploading[/] {task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=Console(stderr=True),
                transient=True,
            ) as bar,
        ):
            task = bar.add_task(escape(archive.name), total=size)
            answer = client.import_eln(archive, dry_run, lambda sent: bar.update(task, completed=sent))
    except httpx.TransportError as exc:
        _fail(f"cannot reach the cellprov server at {client.base_url} ({type(exc).__name__}: {exc})")
    except Exception as exc:  # CellprovError: the server's problem, said plainly
        _fail(str(exc))
    if json_output or wants_json:
        sys.stdout.write(answer.model_dump_json(indent=2) + "\n")
        return
    table = Table("entity", "type", "became", "entry", "why")
    for entity in answer.entities:
        table.add_row(
            escape(entity.id), escape(entity.type), entity.became, entity.entry or "", escape(entity.reason)
        )
    console.print(table)
    if answer.already_imported:
        console.print(f"Already imported (archive {answer.archive_sha256[:16]}…): nothing was created.")
    else:
        verb = "would create" if answer.dry_run else "created"
        console.print(f"{verb} {answer.entries} entries with {answer.attachments} attachments.")
