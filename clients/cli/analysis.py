"""`cellprov analysis add|nyquist`: characterisations of items (XRD, XPS, EIS …), their files and results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

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


@app.command("nyquist")
def analysis_nyquist(
    ctx: typer.Context,
    analysis_id: Annotated[int, typer.Argument(help="Analysis id (an EIS analysis with an EC-Lab file).")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the sheet or figure here (.csv, .png, .svg).")
    ] = None,
    file: Annotated[
        str | None,
        typer.Option("--file", help="Which of its files: name, label or SHA-256 (default: first)."),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """The Nyquist plot of an EIS analysis's BioLogic PEIS/GEIS file: −Im(Z) against Re(Z), nothing fitted.

    \b
    cellprov analysis nyquist 12                   each spectrum: points, frequency range, Re(Z) range
    cellprov analysis nyquist 12 -o nyquist.svg    the figure (equal axes, ohms); -o nyquist.csv for the sheet
    """
    if out is not None:
        fmt = out.suffix.lstrip(".").lower()
        if fmt not in ("csv", "png", "svg"):
            output.fail(f"cannot tell the format from {out.name}: name it .csv, .png or .svg")
        with connected(ctx) as client:
            content = client.nyquist_file(analysis_id, fmt, file)  # type: ignore[arg-type]
        try:
            out.write_bytes(content)
        except OSError as exc:
            output.fail(f"cannot write {out}: {exc}")
        output.console.print(f"Nyquist plot of analysis {analysis_id} saved to {escape(str(out))}.")
        return
    with connected(ctx) as client:
        answer = client.nyquist(analysis_id, file)
    if wants_json(ctx, json_output):
        output.print_json(answer)
        return
    output.console.print(
        f"[bold]Analysis {analysis_id}[/] · {escape(answer.file.name)}: {escape(answer.method)}"
    )
    table = Table("spectrum", "points", "from Hz", "to Hz", "Re(Z) min Ω", "Re(Z) max Ω", "−Im(Z) max Ω")
    for spectrum in answer.spectra:
        table.add_row(
            escape(spectrum.label),
            str(len(spectrum.frequency_Hz)),
            output.number(spectrum.frequency_Hz[0], digits=4),
            output.number(spectrum.frequency_Hz[-1], digits=4),
            output.number(min(spectrum.re_Z_ohm), digits=4),
            output.number(max(spectrum.re_Z_ohm), digits=4),
            output.number(max(spectrum.minus_im_Z_ohm), digits=4),
        )
    output.console.print(table)
