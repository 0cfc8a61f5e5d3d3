"""`cellprov instrument ...`: register the lab's instruments, record and void their calibrations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from clients.cli import output
from clients.cli.connect import connected, wants_json
from schemas.instruments import (
    CalibrationIn,
    ChannelStatus,
    InstrumentIn,
    InstrumentKind,
    InstrumentOut,
    LoadIn,
    LoadOut,
    UnloadIn,
)

app = typer.Typer(help="Instruments: cyclers and their channels, gloveboxes, balances, calibrations.")


def _show(ctx: typer.Context, instruments: list[InstrumentOut]) -> None:
    if wants_json(ctx):
        output.console.print_json(data=[i.model_dump(mode="json") for i in instruments])
        return
    table = Table("code", "kind", "make / model", "serial", "location", "calibration", "due", "channels")
    for i in instruments:
        channels = f"{len(i.channels)} ({i.channels[0]}..{i.channels[-1]})" if i.channels else ""
        table.add_row(
            i.code,
            i.kind.value,
            " ".join(filter(None, [i.make, i.model])),
            i.serial or "",
            i.location or "",
            i.calibration_state.value + (" (voided)" if i.status == "voided" else ""),
            str(i.calibration_due_on or ""),
            channels,
        )
    output.console.print(table)


@app.command("add")
def add_instrument(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="e.g. NW1 (its channels become NW1-1 .. NW1-n) or GB-1")],
    kind: Annotated[InstrumentKind, typer.Option(help="cycler, glovebox, balance, oven or coater")],
    channels: Annotated[int | None, typer.Option(help="A cycler's number of channels")] = None,
    make: Annotated[str | None, typer.Option()] = None,
    model: Annotated[str | None, typer.Option()] = None,
    serial: Annotated[str | None, typer.Option()] = None,
    location: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Register an instrument."""
    try:
        body = InstrumentIn(
            code=code, kind=kind, channels=channels, make=make, model=model, serial=serial, location=location
        )
    except ValidationError as exc:
        output.fail("; ".join(error["msg"] for error in exc.errors()))
    with connected(ctx) as client:
        _show(ctx, [client.register_instrument(body)])


@app.command("list")
def list_instruments(
    ctx: typer.Context,
    kind: Annotated[InstrumentKind | None, typer.Option()] = None,
    location: Annotated[str | None, typer.Option()] = None,
) -> None:
    """The lab's instruments with their calibration state today."""
    with connected(ctx) as client:
        _show(ctx, client.instruments(kind=kind.value if kind else None, location=location))


@app.command("show")
def show_instrument(ctx: typer.Context, code: str) -> None:
    """One instrument and its calibrations."""
    with connected(ctx) as client:
        instrument = client.instrument(code)
        calibrations = client.calibrations(code)
    if wants_json(ctx):
        data = instrument.model_dump(mode="json")
        output.console.print_json(
            data={**data, "calibrations": [c.model_dump(mode="json") for c in calibrations]}
        )
        return
    _show(ctx, [instrument])
    table = Table("id", "calibrated", "due", "by", "certificate", "voided")
    for c in calibrations:
        table.add_row(
            str(c.id),
            str(c.calibrated_on),
            str(c.due_on),
            c.by,
            (c.certificate or "")[:12],
            c.void_reason or "",
        )
    output.console.print(table)


@app.command("calibrate")
def calibrate(
    ctx: typer.Context,
    code: str,
    on: Annotated[str, typer.Option("--on", help="Date calibrated, YYYY-MM-DD")],
    due: Annotated[str, typer.Option("--due", help="Date the next calibration is due, YYYY-MM-DD")],
    by: Annotated[str, typer.Option("--by", help="Who calibrated it (a person or a service company)")],
    certificate: Annotated[
        str | None, typer.Option(help="sha256 of the certificate from POST /files")
    ] = None,
    note: Annotated[str, typer.Option()] = "",
) -> None:
    """Record a calibration of an instrument."""
    try:
        body = CalibrationIn(
            calibrated_on=date.fromisoformat(on),
            due_on=date.fromisoformat(due),
            by=by,
            certificate=certificate,
            note=note,
        )
    except ValueError as exc:
        output.fail(str(exc))
    with connected(ctx) as client:
        recorded = client.record_calibration(code, body)
    output.console.print(f"Recorded calibration {recorded.id} of {code}: due {recorded.due_on}")


@app.command("void-calibration")
def void_calibration(
    ctx: typer.Context,
    code: str,
    calibration_id: int,
    reason: Annotated[str, typer.Option(help="Why it was a mistake")],
) -> None:
    """Void a calibration recorded by mistake."""
    with connected(ctx) as client:
        client.void_calibration(code, calibration_id, reason)
    output.console.print(f"Voided calibration {calibration_id} of {code}")


def _moment(text: str | None) -> datetime | None:
    """An ISO time with its zone (2026-03-02T09:15+01:00); none means now."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        output.fail(f"not an ISO date and time: {text}")
    if moment.tzinfo is None:
        output.fail(f"{text} has no time zone; add one, e.g. {text}+00:00")
    return moment


def _show_loads(ctx: typer.Context, loads: list[LoadOut]) -> None:
    if wants_json(ctx):
        output.console.print_json(data=[load.model_dump(mode="json") for load in loads])
        return
    table = Table("channel", "cell", "protocol", "loaded", "by", "unloaded", "by")
    for load in loads:
        table.add_row(
            load.channel,
            load.cell,
            load.protocol or "",
            f"{load.loaded_at:%Y-%m-%d %H:%M}",
            load.loaded_by,
            f"{load.unloaded_at:%Y-%m-%d %H:%M}" if load.unloaded_at else "(on it)",
            load.unloaded_by or "",
        )
    output.console.print(table)


@app.command("board")
def board(
    ctx: typer.Context,
    status: Annotated[ChannelStatus | None, typer.Option(help="busy or free")] = None,
) -> None:
    """Every channel of every cycler: the cell on it, since when, and the cycler's calibration today."""
    with connected(ctx) as client:
        channels = client.channels(status=status.value if status else None)
    if wants_json(ctx):
        output.console.print_json(data=[c.model_dump(mode="json") for c in channels])
        return
    table = Table("channel", "cell", "protocol", "since", "calibration", "due")
    for c in channels:
        table.add_row(
            c.code,
            c.cell or "free",
            c.protocol or "",
            f"{c.since:%Y-%m-%d %H:%M}" if c.since else "",
            c.calibration_state.value,
            str(c.calibration_due_on or ""),
        )
    output.console.print(table)


@app.command("load")
def load(
    ctx: typer.Context,
    channel: Annotated[str, typer.Argument(help="e.g. NW1-3")],
    cell: Annotated[str, typer.Argument(help="the cell's code")],
    protocol: Annotated[str | None, typer.Option(help="the test protocol, name@version")] = None,
    at: Annotated[str | None, typer.Option(help="when, ISO with zone; default now")] = None,
    note: Annotated[str, typer.Option()] = "",
) -> None:
    """Put a cell on a channel."""
    try:
        body = LoadIn(cell=cell, protocol=protocol, at=_moment(at), note=note)
    except ValidationError as exc:
        output.fail("; ".join(error["msg"] for error in exc.errors()))
    with connected(ctx) as client:
        _show_loads(ctx, [client.load_channel(channel, body)])


@app.command("unload")
def unload(
    ctx: typer.Context,
    channel: Annotated[str, typer.Argument(help="e.g. NW1-3")],
    at: Annotated[str | None, typer.Option(help="when, ISO with zone; default now")] = None,
) -> None:
    """Take the cell off a channel."""
    with connected(ctx) as client:
        _show_loads(ctx, [client.unload_channel(channel, UnloadIn(at=_moment(at)))])


@app.command("history")
def history(
    ctx: typer.Context,
    channel: Annotated[str | None, typer.Argument(help="a channel, e.g. NW1-3")] = None,
    cell: Annotated[str | None, typer.Option(help="a cell's code instead: the channels it was on")] = None,
) -> None:
    """Which cells were on a channel, or which channels a cell was on, from when to when."""
    if (channel is None) == (cell is None):
        output.fail("name a channel or --cell, not both")
    with connected(ctx) as client:
        loads = client.channel_history(channel) if channel else client.channels_of(cell or "")
    _show_loads(ctx, loads)


@app.command("impact")
def impact(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="an instrument (NW1, GB-1) or one channel (NW1-3)")],
    since: Annotated[str | None, typer.Option("--from", help="first day, YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option("--to", help="last day, YYYY-MM-DD")] = None,
    due: Annotated[bool, typer.Option(help="also list what ran while the calibration was due")] = True,
) -> None:
    """Which test runs and steps used this instrument while its calibration was overdue, never done or due."""
    try:
        first = date.fromisoformat(since) if since else None
        last = date.fromisoformat(until) if until else None
    except ValueError as exc:
        output.fail(f"a day is YYYY-MM-DD ({exc})")
    with connected(ctx) as client:
        found = client.impact(code, since=first, until=last, due=due)
    if wants_json(ctx):
        output.console.print_json(data=found.model_dump(mode="json", by_alias=True))
        return
    table = Table("what", "when", "protocol", "channel / role", "cell", "calibration", "due on", "deviation")
    for use in found.uses:
        table.add_row(
            f"{use.kind.value.replace('_', ' ')} {use.id}" + (" (voided)" if use.status == "voided" else ""),
            f"{use.at:%Y-%m-%d %H:%M}",
            use.protocol,
            use.channel or use.role or "",
            use.cell or "",
            use.calibration_state.value,
            str(use.calibration_due_on or ""),
            use.deviation or "",
        )
    output.console.print(table)
    if not found.uses:
        output.console.print(f"Nothing used {escape(code)} while it was out of calibration.")
