"""`cellprov export CODE`: an item's provenance as W3C PROV-JSON or an .eln archive."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from clients.cli import output
from clients.cli.connect import cli_state, connected

app = typer.Typer()


class ExportFormat(StrEnum):
    prov_json = "prov-json"
    eln = "eln"
    battinfo = "battinfo"


_EXPORT_SUFFIX = {
    ExportFormat.prov_json: ".prov.json",
    ExportFormat.eln: ".eln",
    ExportFormat.battinfo: ".battinfo.jsonld",
}


@app.command("export")
def export(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Item code to export, e.g. a cell.")],
    fmt: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            help="prov-json (W3C PROV), eln (ELN Consortium archive) or battinfo (a cell, BattINFO JSON-LD).",
        ),
    ] = ExportFormat.prov_json,
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (default: CODE.prov.json or CODE.eln here).")
    ] = None,
    max_depth: Annotated[int | None, typer.Option(min=1, help="Stop after this many steps.")] = None,
    down: Annotated[
        bool, typer.Option("--down", help="Export what was made from the item instead of its origin.")
    ] = False,
) -> None:
    """Export an item's provenance to a file: W3C PROV-JSON, or an .eln archive other ELNs can import.

    \b
    cellprov export CC-0001                    CC-0001.prov.json, the whole upstream lineage
    cellprov export CC-0001 --format eln       CC-0001.eln
    cellprov export CC-0001 --format battinfo  CC-0001.battinfo.jsonld
    cellprov export FECL-0001 --down --max-depth 2 --out recall.prov.json
    """
    target = out or Path(code + _EXPORT_SUFFIX[fmt])
    with connected(ctx) as client, output.err_console.status(f"Exporting {escape(code)} as {fmt.value} …"):
        content = client.export(
            code,
            fmt.value,
            max_depth,
            direction="down" if down else "up",
        )
    try:
        target.write_bytes(content)
    except OSError as exc:
        output.fail(f"cannot write {target}: {exc}")
    if cli_state(ctx).json:
        sys.stdout.write(
            json.dumps({"path": str(target.resolve()), "format": fmt.value, "bytes": len(content)}) + "\n"
        )
    else:
        output.console.print(f"Wrote [bold]{escape(str(target))}[/] ({len(content):,} bytes, {fmt.value}).")
