"""`cellprov analysis add`: characterisations of items (XRD, XPS, EIS …) with their files and results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape

from clients.cli import output
from clients.cli.connect import JsonFlag, connected, wants_json
from schemas import (
    Quantity,
)
from schemas.analyses import AnalysisFileIn, AnalysisIn, ResultIn

app = typer.Typer(help="Analyses: characterisations of items (XRD, XPS, EIS …) with results.")


@app.command("add")
def analysis_add(
    ctx: typer.Context,
    technique: Annotated[str, typer.Argument(help="e.g. XPS, XRD, SEM, EIS (the controlled list).")],
    subjects: Annotated[list[str], typer.Argument(help="Codes of the items analysed.")],
    result: Annotated[
        list[str] | None, typer.Option("--result", "-r", help="NAME=VALUE UNIT, e.g. 'LiF fraction=41.7 %'.")
    ] = None,
    file: Annotated[list[Path] | None, typer.Option("--file", "-f", exists=True, dir_okay=False)] = None,
    instrument: str = "",
    title: str = "",
    json_output: JsonFlag = False,
) -> None:
    """Record an analysis of items, uploading its files and giving its key results."""
    results = []
    for text in result or []:
        name, _, quantity = text.partition("=")
        try:
            parsed = Quantity.model_validate(quantity)
        except ValidationError:
            output.fail(f"--result {text!r}: write NAME=VALUE UNIT, e.g. 'LiF fraction=41.7 %'")
        results.append(ResultIn(name=name.strip(), value=parsed.value, unit=parsed.unit))
    with connected(ctx) as client:
        files = [
            AnalysisFileIn(sha256=client.upload_file(path.name, path.read_bytes()).sha256, label=path.name)
            for path in file or []
        ]
        try:
            body = AnalysisIn.model_validate(
                {
                    "technique": technique,
                    "subjects": subjects,
                    "instrument": instrument,
                    "title": title,
                    "results": [r.model_dump() for r in results],
                    "files": [f.model_dump() for f in files],
                }
            )
        except ValidationError as exc:
            output.fail_with_validation(exc)
        analysis = client.add_analysis(body)
    if wants_json(ctx, json_output):
        output.print_json(analysis)
        return
    output.console.print(
        f"[green]Analysis {analysis.id}[/] ({escape(analysis.technique)}) "
        f"of {escape(', '.join(analysis.subjects))}"
    )
    for r in analysis.results:
        output.console.print(f"  {escape(r.name)}: {output.text(Quantity(value=r.value, unit=r.unit))}")
