"""`cellprov harvest DIR`: upload the cycler PC's finished files as test runs (logic: clients/harvest.py)."""

from __future__ import annotations

import json
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from pydantic import ValidationError

from clients.client import Client
from clients.config import ConfigError, resolve
from clients.harvest import (
    Harvester,
    HarvestState,
    HarvestStopped,
    MappingError,
    Rule,
    default_state_path,
    load_mapping,
    make_rule,
)
from schemas.common import Quantity

app = typer.Typer()

# sysexits.h EX_TEMPFAIL: cron (and people) can tell "the server was away, try later" from a mistake.
EXIT_SERVER_AWAY = 75


def _say(line: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sys.stdout.write(f"{stamp} {line}\n")
    sys.stdout.flush()


def _fail(message: str) -> typer.Exit:
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(1)


def _rules(
    patterns: list[str],
    mapping: Path | None,
    protocol: str | None,
    active_mass: str | None,
    options: str | None,
) -> list[Rule]:
    if mapping is not None:
        if patterns or protocol or active_mass or options:
            _fail("--mapping gives each pattern its protocol and options; do not also give --map/--protocol")
        return load_mapping(mapping)
    if not patterns:
        _fail("say which cell each file is: --map '{cell}_*.nda' (with --protocol), or --mapping FILE")
    chosen: dict[str, object] = {}
    if options:
        try:
            loaded = json.loads(options)
        except json.JSONDecodeError as exc:
            _fail(f"--options is not JSON: {exc}")
        if not isinstance(loaded, dict):
            _fail('--options must be a JSON object, e.g. \'{"cycle_by": "hardware"}\'')
        chosen.update(loaded)
    if active_mass is not None:
        try:
            chosen["active_mass"] = Quantity.model_validate(active_mass).model_dump()
        except ValidationError:
            _fail(f"--active-mass {active_mass!r} is not a quantity like '12.49 mg'")
    return [make_rule(pattern, protocol, options=chosen) for pattern in patterns]


@app.command("harvest")
def harvest(
    ctx: typer.Context,
    folder: Annotated[
        Path,
        typer.Argument(
            exists=True, file_okay=False, metavar="DIR", help="The folder the cycler writes into (recursive)."
        ),
    ],
    patterns: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="Which cell a file is, from its name: '{cell}_*.nda'; with a / from its path below DIR: "
            "'{cell}/*.ndax'; or by the channel it ran on, '{channel}_*.nda' or '{channel}/*.nda' (the cell "
            "on that channel when the file was written). Repeat for more; the first that matches wins.",
        ),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="YAML or CSV file of rules: pattern, protocol, cell, options."
        ),
    ] = None,
    protocol: Annotated[str | None, typer.Option(help="Test protocol for --map, name@version.")] = None,
    active_mass: Annotated[
        str | None, typer.Option(help="Active mass for --map, e.g. '12.49 mg' (default: the cell's own).")
    ] = None,
    options: Annotated[str | None, typer.Option(help="More test options for --map, as JSON.")] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            help="State file. Default: DIR/.cellprov-harvest.json, or ~/.config/cellprov/harvest-*.json "
            "when DIR is read-only."
        ),
    ] = None,
    settle: Annotated[
        float, typer.Option(min=0, help="Seconds a file's size and time must stay the same before upload.")
    ] = 60.0,
    poll: Annotated[float, typer.Option(min=0.05, help="Seconds between looks at the folder.")] = 10.0,
    once: Annotated[
        bool, typer.Option("--once", help="Look, upload what has settled, and exit (for cron).")
    ] = False,
    give_up_after: Annotated[
        float, typer.Option(min=0, help="With --once: seconds to keep retrying while the server is away.")
    ] = 300.0,
    max_backoff: Annotated[
        float,
        typer.Option(min=0.1, help="Longest wait, in seconds, between retries while the server is away."),
    ] = 60.0,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds to wait for the server's answer to one file.")
    ] = 300.0,
) -> None:
    """Upload each new cycler file in DIR, once it has stopped growing, as a test run of the cell its name
    names. One line per file: uploaded, skipped, no cell matches, or refused (with the server's reason)."""
    try:
        rules = _rules(patterns or [], mapping, protocol, active_mass, options)
        saved = HarvestState.load(state or default_state_path(folder))
    except MappingError as exc:
        _fail(str(exc))
    root = ctx.find_root().obj
    try:
        config = resolve(getattr(root, "url", None), getattr(root, "token", None))
    except ConfigError as exc:
        _fail(str(exc))
    if not config.token:
        _fail("no token: run `cellprov login`, or set CELLPROV_TOKEN")
    stop = threading.Event()

    def stop_cleanly(signum: int, frame: FrameType | None) -> None:
        # The first Ctrl-C lets the file being sent finish and the state be written; a second one is rough.
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, stop_cleanly), signal.signal(signal.SIGTERM, stop_cleanly)
    # The harvester does its own, longer backoff; the client should not retry underneath it.
    with Client(config.url, config.token, timeout=timeout, retries=0) as client:
        harvester = Harvester(
            client, folder, rules, saved, settle=settle, report=_say, max_backoff=max_backoff, stop=stop
        )
        _say(f"harvesting {folder} into {config.url} (state {saved.path})")
        try:
            if once:
                summary = harvester.run_once(give_up_after=give_up_after)
            else:
                harvester.run(poll=poll)
        except HarvestStopped as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            _say("harvest interrupted")
            raise typer.Exit(130) from None
        finally:
            signal.signal(signal.SIGINT, previous[0])
            signal.signal(signal.SIGTERM, previous[1])
    if not once:
        _say("harvest stopped")
        return
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(summary.counts.items())) or "nothing new"
    left = f", {summary.still_written} still being written" if summary.still_written else ""
    _say(f"harvest done: {counts}{left}")
    if summary.server_away:
        _say(f"the server stayed away for {give_up_after:g} s; the files wait for the next run")
        raise typer.Exit(EXIT_SERVER_AWAY)
