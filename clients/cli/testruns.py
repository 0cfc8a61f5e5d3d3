"""`cellprov test upload|show|cycles|plot|dqdv|dvdq|profiles|void|check`: a cell's test runs, their cycles,
metrics and differential analysis."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TransferSpeedColumn
from rich.table import Table

from clients.cli import output
from clients.cli.connect import JsonFlag, connected, wants_json
from clients.client import Client
from schemas import (
    Quantity,
)
from schemas.cycling import (
    CycleOut,
    DifferentialCapacity,
    DifferentialVoltage,
    TestOptions,
    TestRunOut,
    VoltageProfiles,
)

app = typer.Typer(
    help="Test runs: upload a cell's cycler file; its cycles, metrics, dQ/dV, dV/dQ and voltage profiles."
)


class _Progress:
    """A file whose reads advance a rich progress bar (httpx streams the upload by reading it)."""

    def __init__(self, handle: Any, progress: Progress, task: TaskID) -> None:
        self.handle, self.progress, self.task = handle, progress, task

    def read(self, size: int = -1) -> bytes:
        chunk: bytes = self.handle.read(size)
        self.progress.advance(self.task, len(chunk))
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        # A retried upload starts again from the top.
        if offset == 0 and whence == 0:
            self.progress.reset(self.task)
        position: int = self.handle.seek(offset, whence)
        return position

    def tell(self) -> int:
        position: int = self.handle.tell()
        return position


def _parse_options(text: str | None) -> TestOptions:
    try:
        return TestOptions.model_validate_json(text or "{}")
    except ValidationError as exc:
        output.fail_with_validation(exc)
        raise


@app.command("upload")
def test_upload(
    ctx: typer.Context,
    cell: Annotated[str, typer.Argument(help="Code of the cell tested, e.g. CC-0001.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The raw cycler file.")],
    protocol: Annotated[str, typer.Option("--protocol", "-p", help="Test protocol, name@version.")],
    active_mass: Annotated[
        str | None, typer.Option(help="Active material mass for mAh/g, e.g. '12.5 mg'.")
    ] = None,
    options: Annotated[
        str | None, typer.Option(help='More options as JSON, e.g. \'{"cycle_by": "hardware"}\'.')
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Upload a cycler file for a cell; the format is detected by the server from the content."""
    chosen = _parse_options(options)
    if active_mass is not None:
        try:
            chosen.active_mass = Quantity.model_validate(active_mass)
        except ValidationError as exc:
            output.fail_with_validation(exc)
    with connected(ctx) as client, file.open("rb") as handle:
        columns = [TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn()]
        with Progress(*columns, console=output.err_console, transient=True) as progress:
            task = progress.add_task(f"uploading {file.name}", total=file.stat().st_size)
            run = client.upload_test(cell, file.name, _Progress(handle, progress, task), protocol, chosen)  # type: ignore[arg-type]
    if wants_json(ctx, json_output):
        output.print_json(run)
        return
    output.console.print(
        f"[green]Test run {run.id}[/] of {escape(run.cell)}: {escape(run.format)} read by "
        f"{escape(run.parser)} {escape(run.parser_version)}, "
        f"{run.record_count} records, {run.cycle_count} cycles"
    )
    output.console.print(_metrics_table(run))


def _metrics_table(run: TestRunOut) -> Table:
    table = Table(title=f"metrics of test {run.id} ({run.kind})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("unit")
    table.add_column("note", style="dim")
    for metric in run.metrics:
        table.add_row(
            metric.name,
            output.number(metric.value, digits=4),
            escape(output.unit_text(metric.unit)) if metric.unit else "",
            output.text(metric.note),
        )
    return table


def _cycles_table(run: TestRunOut, per_cycle: list[CycleOut]) -> Table:
    table = Table(title=f"{output.count(len(per_cycle), 'cycle')} of test {run.id}")
    for name in ("cycle", "hw", "charge mAh", "discharge mAh", "CE %", "mAh/g", "note"):
        table.add_column(name, justify="right" if name != "note" else "left")
    returned = "discharge" if run.leading == "charge" else "charge"
    for c in per_cycle:
        table.add_row(
            str(c.cycle),
            output.text(c.hw_cycle),
            output.number(c.charge_mAh, digits=4),
            output.number(c.discharge_mAh, digits=4),
            output.number(c.ce_pct, digits=4),
            output.number(getattr(c, f"{returned}_mAh_g"), digits=4),
            output.text(c.flag or ("" if c.complete else "incomplete")),
        )
    return table


@app.command("cycles")
def test_cycles(
    ctx: typer.Context,
    test_id: Annotated[int, typer.Argument(help="Test run id.")],
    as_csv: Annotated[
        bool,
        typer.Option("--csv", help="Print every per-cycle column as CSV (for a spreadsheet)."),
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """A test run's per-cycle table: capacities, coulombic efficiency, specific capacity."""
    with connected(ctx) as client:
        if as_csv:
            sys.stdout.write(client.cycles_csv(test_id))
            return
        run = client.test_run(test_id)
        per_cycle = client.cycles(test_id)
    if wants_json(ctx, json_output):
        output.print_json(per_cycle)
        return
    output.console.print(_cycles_table(run, per_cycle))


@app.command("plot")
def test_plot(
    ctx: typer.Context,
    test_id: Annotated[int, typer.Argument(help="Test run id.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The file to write: .png or .svg.")],
    from_zero: Annotated[bool, typer.Option("--from-zero", help="Start the capacity axis at zero.")] = False,
) -> None:
    """Save a test run's capacity and coulombic efficiency plot."""
    with connected(ctx) as client:
        content = client.plot(test_id, "svg" if out.suffix.lower() == ".svg" else "png", from_zero=from_zero)
    try:
        out.write_bytes(content)
    except OSError as exc:
        output.fail(f"cannot write {out}: {exc}")
    output.console.print(f"Plot of test {test_id} saved to {escape(str(out))} ({len(content):,} bytes).")


Differential = Literal["dqdv", "dvdq", "profiles"]
SheetFormat = Literal["csv", "png", "svg"]
CyclesOption = Annotated[
    str | None,
    typer.Option(
        "--cycles", "-c", help="Cycle numbers, e.g. 1,50,100 (default: the first and the last complete)."
    ),
]
FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        help="csv, png or svg (default: from the --out file's suffix; a table on the terminal without -o).",
    ),
]
OutOption = Annotated[
    Path | None, typer.Option("--out", "-o", help="Write the CSV or figure to this file (.csv, .png, .svg).")
]
SmoothingOption = Annotated[
    int, typer.Option("--smoothing", min=1, max=51, help="Points of the centred moving average.")
]


def _cycles(text: str | None) -> list[int] | None:
    if text is None or not text.strip():
        return None
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        output.fail(f"--cycles {text!r}: give whole cycle numbers separated by commas, e.g. 1,50,100")


def _format(fmt: str | None, out: Path | None) -> SheetFormat | None:
    """The format asked for, else the one the file's suffix names; None for a table on the terminal."""
    chosen = (fmt or (out.suffix.lstrip(".") if out is not None else "")).lower()
    if not chosen:
        if out is not None:
            output.fail(
                f"cannot tell the format from {out.name}: name it .csv, .png or .svg, or give --format"
            )
        return None
    if chosen not in ("csv", "png", "svg"):
        output.fail(f"--format {chosen!r}: choose csv, png or svg")
    if chosen in ("png", "svg") and out is None:
        output.fail(f"a {chosen.upper()} figure needs a file: add -o FILE.{chosen}")
    return chosen  # type: ignore[return-value]


def _write(content: bytes, out: Path | None, what: str, test_id: int) -> None:
    if out is None:
        sys.stdout.write(content.decode())
        return
    try:
        out.write_bytes(content)
    except OSError as exc:
        output.fail(f"cannot write {out}: {exc}")
    output.console.print(f"{what} of test {test_id} saved to {escape(str(out))} ({len(content):,} bytes).")


def _peak(xs: list[float], ys: list[float]) -> tuple[float, float] | None:
    """Where |y| is largest: the strongest dQ/dV peak of a half cycle."""
    if not ys:
        return None
    at = max(range(len(ys)), key=lambda i: abs(ys[i]))
    return xs[at], ys[at]


def _differential_table(
    answer: DifferentialCapacity | DifferentialVoltage | VoltageProfiles,
) -> Table:
    if isinstance(answer, DifferentialCapacity):
        table = Table("cycle", "half", "points", "from V", "to V", "strongest peak at V", "dQ/dV mAh/V")
        for c in answer.curves:
            peak = _peak(c.voltage_V, c.dqdv_mAh_per_V)
            table.add_row(
                str(c.cycle),
                c.direction,
                str(len(c.voltage_V)),
                output.number(c.voltage_V[0] if c.voltage_V else None, digits=4),
                output.number(c.voltage_V[-1] if c.voltage_V else None, digits=4),
                output.number(peak[0] if peak else None, digits=4),
                output.number(peak[1] if peak else None, digits=4),
            )
        return table
    if isinstance(answer, DifferentialVoltage):
        table = Table("cycle", "half", "points", "capacity mAh", "smallest |dV/dQ| at mAh", "dV/dQ V/mAh")
        for slope in answer.curves:
            ys = slope.dvdq_V_per_mAh
            at = min(range(len(ys)), key=lambda i: abs(ys[i])) if ys else None
            table.add_row(
                str(slope.cycle),
                slope.direction,
                str(len(ys)),
                output.number(slope.capacity_mAh[-1] if slope.capacity_mAh else None, digits=4),
                output.number(slope.capacity_mAh[at] if at is not None else None, digits=4),
                output.number(ys[at] if at is not None else None, digits=4),
            )
        return table
    table = Table("cycle", "half", "points", "capacity mAh", "capacity mAh/g", "from V", "to V")
    for p in answer.profiles:
        table.add_row(
            str(p.cycle),
            p.direction,
            str(len(p.voltage_V)),
            output.number(p.capacity_mAh[-1] if p.capacity_mAh else None, digits=4),
            output.number(p.capacity_mAh_g[-1] if p.capacity_mAh_g else None, digits=4),
            output.number(p.voltage_V[0] if p.voltage_V else None, digits=4),
            output.number(p.voltage_V[-1] if p.voltage_V else None, digits=4),
        )
    return table


Answer = DifferentialCapacity | DifferentialVoltage | VoltageProfiles


def _differential(
    ctx: typer.Context,
    what: Differential,
    test_id: int,
    cycles: str | None,
    fmt: str | None,
    out: Path | None,
    json_output: bool,
    fetch: Callable[[Client, list[int] | None], Answer],
    **params: float,
) -> None:
    """The table (or JSON) on the terminal, or the CSV sheet or figure in a file."""
    chosen, sheet = _cycles(cycles), _format(fmt, out)
    name = {"dqdv": "dQ/dV", "dvdq": "dV/dQ", "profiles": "Voltage profiles"}[what]
    with connected(ctx) as client:
        if sheet is not None:
            _write(client.differential_file(test_id, what, sheet, chosen, **params), out, name, test_id)
            return
        answer = fetch(client, chosen)
    if wants_json(ctx, json_output):
        output.print_json(answer)
        return
    output.console.print(f"[bold]{name}[/] of test {test_id}: {escape(answer.method)}")
    output.console.print(_differential_table(answer))


@app.command("dqdv")
def test_dqdv(
    ctx: typer.Context,
    test_id: Annotated[int, typer.Argument(help="Test run id.")],
    cycles: CyclesOption = None,
    fmt: FormatOption = None,
    out: OutOption = None,
    resolution_mV: Annotated[
        float, typer.Option("--resolution-mv", min=0.1, max=100, help="The voltage grid's step, mV.")
    ] = 5.0,
    smoothing: SmoothingOption = 5,
    json_output: JsonFlag = False,
) -> None:
    """dQ/dV of chosen cycles from the raw records, with the method it was computed by.

    \b
    cellprov test dqdv 7                            first and last complete cycles: each half's strongest peak
    cellprov test dqdv 7 --cycles 1,50 -o dqdv.svg  the figure (charge solid, discharge negative and dashed)
    cellprov test dqdv 7 -c 1,50 --format csv       the sheet, on stdout (or -o dqdv.csv)
    """
    _differential(
        ctx,
        "dqdv",
        test_id,
        cycles,
        fmt,
        out,
        json_output,
        lambda client, chosen: client.dqdv(test_id, chosen, resolution_mV, smoothing),
        resolution_mV=resolution_mV,
        smoothing=smoothing,
    )


@app.command("dvdq")
def test_dvdq(
    ctx: typer.Context,
    test_id: Annotated[int, typer.Argument(help="Test run id.")],
    cycles: CyclesOption = None,
    fmt: FormatOption = None,
    out: OutOption = None,
    points: Annotated[
        int, typer.Option("--points", min=20, max=5000, help="Capacity grid points across each half cycle.")
    ] = 500,
    smoothing: SmoothingOption = 5,
    json_output: JsonFlag = False,
) -> None:
    """dV/dQ of chosen cycles against the capacity passed: plateaus are its minima, steps its peaks.

    \b
    cellprov test dvdq 7 --cycles 1,50              a table: where each half's dV/dQ is smallest
    cellprov test dvdq 7 --cycles 1,50 -o dvdq.png  the figure; -o dvdq.csv for the sheet
    """
    _differential(
        ctx,
        "dvdq",
        test_id,
        cycles,
        fmt,
        out,
        json_output,
        lambda client, chosen: client.dvdq(test_id, chosen, points, smoothing),
        points=points,
        smoothing=smoothing,
    )


@app.command("profiles")
def test_profiles(
    ctx: typer.Context,
    test_id: Annotated[int, typer.Argument(help="Test run id.")],
    cycles: CyclesOption = None,
    fmt: FormatOption = None,
    out: OutOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Voltage against capacity of chosen cycles, each half cycle apart (per gram when the mass is known).

    \b
    cellprov test profiles 7 --cycles 1,100         a table: each half's capacity and voltage range
    cellprov test profiles 7 -c 1,100 -o v.svg      the figure; -o v.csv for the sheet
    """
    _differential(
        ctx,
        "profiles",
        test_id,
        cycles,
        fmt,
        out,
        json_output,
        lambda client, chosen: client.profiles(test_id, chosen),
    )


@app.command("show")
def test_show(
    ctx: typer.Context,
    test_id: Annotated[int, typer.Argument(help="Test run id.")],
    plot: Annotated[Path | None, typer.Option(help="Also save the capacity/CE plot (.png or .svg).")] = None,
    cycles: Annotated[bool, typer.Option("--cycles", help="Also list the per-cycle table.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Show a test run: its file, parser and metrics (and per-cycle data with --cycles)."""
    with connected(ctx) as client:
        run = client.test_run(test_id)
        per_cycle = client.cycles(test_id) if cycles else []
        if plot is not None:
            plot.write_bytes(client.plot(test_id, "svg" if plot.suffix.lower() == ".svg" else "png"))
    if wants_json(ctx, json_output):
        output.print_json(run)
        return
    output.console.print(
        f"[bold]Test {run.id}[/] of {escape(run.cell)} under {escape(run.protocol)}: {escape(run.file.name)} "
        f"({escape(run.format)}, {escape(run.parser)} {escape(run.parser_version)}), "
        f"{output.count(run.cycle_count, 'cycle')} in {run.duration_h:.1f} h"
    )
    output.console.print(_metrics_table(run))
    if per_cycle:
        output.console.print(_cycles_table(run, per_cycle))
    if plot is not None:
        output.console.print(f"plot saved to {escape(str(plot))}")


@app.command("check")
def test_check(
    ctx: typer.Context,
    test_id: Annotated[int, typer.Argument(help="Test run id.")],
    json_output: JsonFlag = False,
) -> None:
    """A test run's plausibility warnings and the convention behind each metric; exit 2 on an error."""
    with connected(ctx) as client:
        run = client.test_run(test_id)
    if wants_json(ctx, json_output):
        output.print_json(run)
    else:
        status = f" [yellow]voided: {escape(run.void_reason or '')}[/]" if run.status == "voided" else ""
        output.console.print(f"Test run {run.id} of {escape(run.cell)} ({escape(run.protocol)}){status}")
        for warning in run.warnings:
            colour = "red" if warning.level == "error" else "yellow"
            output.console.print(
                f"  [{colour}]{warning.level}[/] {escape(warning.check)}: {escape(warning.message)}"
            )
        if not run.warnings:
            output.console.print("  [green]no plausibility warnings[/]")
        table = Table("metric", "value", "unit", "convention")
        for metric in run.metrics:
            table.add_row(
                metric.name,
                output.number(metric.value, digits=4),
                output.unit_text(metric.unit),
                metric.convention,
            )
        output.console.print(table)
    if any(w.level == "error" for w in run.warnings):
        raise typer.Exit(2)


@app.command("void")
def test_void(
    ctx: typer.Context,
    test_id: Annotated[int, typer.Argument(help="Test run id.")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why the run is voided (kept in the audit).")],
    json_output: JsonFlag = False,
) -> None:
    """Void a test run recorded by mistake: it stays readable, marked voided, and leaves comparisons."""
    with connected(ctx) as client:
        run = client.void_test(test_id, reason)
    if wants_json(ctx, json_output):
        output.print_json(run)
        return
    output.console.print(
        f"[yellow]Test run {run.id}[/] of {escape(run.cell)} voided: {escape(run.void_reason or '')}"
    )


@app.command("export")
def test_export(
    ctx: typer.Context,
    test_id: Annotated[int, typer.Argument(help="Test run id.")],
    fmt: Annotated[
        str, typer.Option("--format", help="bdf (a .bdf.csv file) or bdf-parquet (the same as parquet).")
    ] = "bdf",
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="The file to write; default: the server's BDF file name, here."),
    ] = None,
) -> None:
    """Download a test run's records in the Battery Data Format: BDF's column labels and units, current
    positive while charging.

    \b
    cellprov test export 12                       writes e.g. cellprov__CC-0001__20260305_012.bdf.csv
    cellprov test export 12 --format bdf-parquet -o run12.bdf.parquet
    """
    if fmt not in ("bdf", "bdf-parquet"):
        output.fail("--format must be bdf or bdf-parquet")
    # Written beside its name and renamed when complete: a download cut short leaves no whole-looking file.
    partial = Path(f".cellprov-test-{test_id}.partial")
    if out is not None:
        partial = out.with_name(out.name + ".partial")
    columns = [TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn()]
    try:
        with (
            connected(ctx) as client,
            partial.open("wb") as handle,
            Progress(*columns, console=output.err_console, transient=True) as bar,
        ):
            task = bar.add_task(f"downloading test {test_id}", total=None)
            written, name = client.export_records(
                test_id,
                fmt,  # type: ignore[arg-type]
                handle,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        target = out if out is not None else Path(Path(name).name or f"test-{test_id}.{fmt}")
        partial.replace(target)
    except OSError as exc:
        output.fail(f"cannot write {out or 'the file'}: {exc}")
    finally:
        partial.unlink(missing_ok=True)
    output.console.print(f"Test {test_id} in BDF saved to {escape(str(target))} ({written:,} bytes).")
