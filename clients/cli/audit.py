"""`cellprov audit list|verify|export|checkpoint`: the tamper-evident trail of every change."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

from clients.cli import output
from clients.cli.connect import JsonFlag, connected, wants_json

app = typer.Typer(help="The audit trail: list events, verify the chain, export it, keep checkpoints.")


DEFAULT_CHECKPOINTS = Path("~/.config/cellprov/checkpoints.jsonl")


@app.command("list")
def audit_list(
    ctx: typer.Context,
    actor: Annotated[str | None, typer.Option(help="Username.")] = None,
    action: Annotated[
        str | None, typer.Option(help="e.g. item.corrected, or item for all item actions.")
    ] = None,
    entity: Annotated[str | None, typer.Option(help="An item code or a step id.")] = None,
    lineage_of: Annotated[str | None, typer.Option(help="Everything in the lineage of this item.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    json_output: JsonFlag = False,
) -> None:
    """Audit events, oldest first: who changed what, when and why."""
    with connected(ctx) as client:
        page = client.audit_events(
            actor=actor, action=action, entity_id=entity, lineage_of=lineage_of, limit=limit
        )
    if wants_json(ctx, json_output):
        output.print_json(page)
        return
    table = Table("seq", "when (UTC)", "who", "action", "record", "reason", title="audit trail")
    for event in page.items:
        record = f"{event.entity_type} {event.entity_id}" + (
            f" v{event.entity_version}" if event.entity_version else ""
        )
        table.add_row(
            str(event.seq),
            event.at.strftime("%Y-%m-%d %H:%M:%S"),
            output.text(event.actor_name or "system"),
            output.text(event.action),
            output.text(record),
            output.text(event.reason),
        )
    output.console.print(table)
    if page.next_cursor:
        output.console.print("[dim]more events: raise --limit or filter[/]")


@app.command("verify")
def audit_verify(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="An export to check offline, without the server.", exists=True)
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Recompute the hash chain: on the server, or of an export file (offline). Exit code 1 if broken."""
    from clients.audit_file import ExportFileError, verify_export

    if file is not None:
        try:
            check, manifest = verify_export(file)
        except ExportFileError as exc:
            output.fail(str(exc))
    else:
        with connected(ctx) as client:
            check, manifest = client.verify_audit(), None
    if wants_json(ctx, json_output):
        output.print_json(check)
    elif check.ok:
        source = (
            f"{file} (exported {manifest.exported_at:%Y-%m-%d %H:%M} by {manifest.exported_by})"
            if (file and manifest)
            else "the server's trail"
        )
        output.console.print(
            f"[green]✓[/] {escape(source)}: {check.size} events, chain intact, head {check.head_hash[:16]}…"
        )
    else:
        output.err_console.print(
            f"[bold red]✗ chain broken at event {check.first_bad_seq}:[/] {escape(check.problem or '')}"
        )
    if not check.ok:
        raise typer.Exit(1)


@app.command("export")
def audit_export(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    out: Annotated[
        str | None,
        typer.Option(
            "--out", "-o", help="File to write, or - for stdout (the default when stdout is not a terminal)."
        ),
    ] = None,
) -> None:
    """Stream the whole audit trail with its manifest; check it later with `cellprov audit verify FILE`.

    \b
    cellprov audit export -o trail.jsonl
    cellprov audit export > trail.jsonl        the same: only the export goes to stdout
    """
    from rich.progress import SpinnerColumn, TimeElapsedColumn

    if fmt not in ("jsonl", "csv"):
        output.fail("--format must be jsonl or csv")
    to_stdout = out == "-" or (out is None and not sys.stdout.isatty())
    if out is None and not to_stdout:
        output.fail(f"give a file with -o trail.{fmt}, or redirect: cellprov audit export > trail.{fmt}")
    columns = (
        SpinnerColumn(),
        "[progress.description]{task.description}",
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
    )
    target = None if to_stdout else Path(str(out))
    # A file is written beside its name and renamed when complete: an export cut short leaves no file
    # that looks like a whole one.
    partial = None if target is None else target.with_name(target.name + ".partial")
    try:
        with (
            connected(ctx) as client,
            nullcontext(sys.stdout.buffer) if partial is None else partial.open("wb") as handle,
            Progress(*columns, console=output.err_console, transient=True) as bar,
        ):
            task = bar.add_task(f"exporting to {target or 'stdout'}", total=None)
            written = client.export_audit(fmt, handle, progress=lambda done: bar.update(task, completed=done))
        if partial is not None and target is not None:
            partial.replace(target)
    except OSError as exc:
        output.fail(f"cannot write {target or 'stdout'}: {exc}")
    finally:
        if partial is not None:
            partial.unlink(missing_ok=True)
    if target is None:
        output.err_console.print(f"Exported {written:,} bytes of audit trail ({fmt}).")
    else:
        output.err_console.print(
            f"Wrote [bold]{escape(str(target))}[/] ({written:,} bytes). Check it with "
            f"`cellprov audit verify {escape(str(target))}`.",
            soft_wrap=True,
        )


@app.command("checkpoint")
def audit_checkpoint(
    ctx: typer.Context,
    keep: Annotated[Path, typer.Option(help="Where your checkpoints are kept, outside the server.")] = (
        DEFAULT_CHECKPOINTS
    ),
    json_output: JsonFlag = False,
) -> None:
    """Fetch a signed checkpoint and prove it extends the last one you kept (the trail only grew)."""
    from clients.audit_proofs import ProofError, accept_checkpoint, read_kept_checkpoints

    path = keep.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    with connected(ctx) as client:
        new = client.checkpoint()
        kept = read_kept_checkpoints(path) if path.exists() else []
        proof = (
            client.consistency_proof(kept[-1].size, new.size) if kept and kept[-1].size <= new.size else None
        )
        try:
            previous = accept_checkpoint(path, new, proof, client.audit_public_key())
        except ProofError as exc:
            output.fail(f"the server's trail is NOT consistent with your kept checkpoint: {exc}")
    if wants_json(ctx, json_output):
        output.print_json(new)
    elif previous is None:
        output.console.print(
            f"First checkpoint kept in {escape(str(path))}: {new.size} events, root {new.root_hex[:16]}…"
        )
    else:
        output.console.print(
            f"[green]✓[/] {new.size} events extend your kept checkpoint of {previous.size}; kept."
        )
