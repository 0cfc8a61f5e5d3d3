"""The `cellprov` command line: receive lots, log steps, list items and trace a cell back to its reagents."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import click
import httpx
import typer
import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TransferSpeedColumn
from rich.table import Table
from rich.tree import Tree

from clients.cli_harvest import harvest_app
from clients.cli_instruments import instrument_app
from clients.cli_ops import ops_app
from clients.cli_tests import print_upstream_differences, tests_app
from clients.client import CellprovError, Client
from clients.config import ConfigError, resolve
from clients.example import ANODE_KINDS, WorkedExample, load_worked_example
from schemas import (
    InputRole,
    ItemKind,
    ItemOut,
    ItemStatus,
    ItemVersion,
    Lineage,
    LineageEdge,
    LineageNode,
    LineageParts,
    LotIn,
    OutputSpec,
    Page,
    ParameterKind,
    ParameterSpec,
    Quantity,
    StepIn,
    StepInputIn,
    StepOutputIn,
    TemplateIn,
)
from schemas.analyses import AnalysisFileIn, AnalysisIn, ResultIn
from schemas.cycling import TestOptions, TestRunOut

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="cellprov",
    help="cellprov: the lab's notebook and synthesis-to-cell provenance, from the command line.\n\n"
    "Start a local server with `cellprov serve`, then export the token it prints as CELLPROV_TOKEN.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
example_app = typer.Typer(help="The worked example: the reference workflow from reagent lots to coin cells.")
lot_app = typer.Typer(help="Reagent and part lots: receive them into the inventory.")
step_app = typer.Typer(help="Steps: log a performed process (synthesis, coating, assembly …).")
items_app = typer.Typer(help="Items (lots, batches, cells): list, show, history.")
template_app = typer.Typer(help="Protocol templates: list, show, and validate a template file.")
app.add_typer(example_app, name="example", no_args_is_help=True)
app.add_typer(lot_app, name="lot", no_args_is_help=True)
app.add_typer(step_app, name="step", no_args_is_help=True)
app.add_typer(items_app, name="items", no_args_is_help=True)
app.add_typer(template_app, name="template", no_args_is_help=True)


test_app = typer.Typer(help="Test runs: upload a cell's cycler file, show its cycles and metrics.")
analysis_app = typer.Typer(help="Analyses: characterisations of items (XRD, XPS, EIS …) with results.")
app.add_typer(test_app, name="test", no_args_is_help=True)
test_app.add_typer(tests_app)  # test void: its commands live in clients/cli_tests.py
app.add_typer(analysis_app, name="analysis", no_args_is_help=True)
app.add_typer(ops_app)  # backup, restore: top-level commands
app.add_typer(instrument_app, name="instrument", no_args_is_help=True)
app.add_typer(harvest_app)  # cellprov harvest: clients/cli_harvest.py

JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print the server's answer as JSON (for scripts) instead of tables.")
]


@dataclass
class State:
    url: str | None = None
    token: str | None = None
    json: bool = False


@app.callback()
def configure(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(help="Server URL. Default: $CELLPROV_URL, the config file, or http://127.0.0.1:8000."),
    ] = None,
    token: Annotated[
        str | None, typer.Option(help="Bearer token. Default: $CELLPROV_TOKEN or the config file.")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Options that apply to every command."""
    ctx.obj = State(url=url, token=token, json=json_output)


def _state(ctx: typer.Context) -> State:
    state = ctx.find_object(State)
    return state if state is not None else State()


@contextmanager
def _connected(ctx: typer.Context) -> Iterator[Client]:
    """A client for the configured server; server errors become a red message and exit code 1."""
    state = _state(ctx)
    try:
        config = resolve(state.url, state.token)
    except ConfigError as exc:
        _fail(str(exc))
    try:
        with Client(config.url, config.token) as client:
            yield client
    except CellprovError as exc:
        _fail_with_problem(exc)
    except httpx.TransportError as exc:
        _fail(
            f"cannot reach the cellprov server at {config.url} ({type(exc).__name__}: {exc}).\n"
            "Start one with `make run` (or `cellprov serve`), or point --url / CELLPROV_URL at a running one."
        )


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(1)


def _fail_with_problem(exc: CellprovError) -> typer.Exit:
    problem = exc.problem
    headline = f"{exc.status} {problem.title}" + (f": {problem.detail}" if problem.detail else "")
    err_console.print(f"[bold red]error:[/] [red]{escape(headline)}[/]")
    for item in problem.errors:
        err_console.print(
            f"  [red]•[/] [bold]{escape(item.pointer or '(request)')}[/]: {escape(item.detail)}"
        )
    if exc.status == 401:
        err_console.print(
            "  Give a token with --token or CELLPROV_TOKEN (`cellprov init` prints the first one)."
        )
    raise typer.Exit(1)


def _wants_json(ctx: typer.Context, flag: bool) -> bool:
    return flag or _state(ctx).json


def _print_json(value: Any) -> None:
    if isinstance(value, BaseModel):
        text = value.model_dump_json(indent=2)
    else:
        text = TypeAdapter(type(value)).dump_json(value, indent=2).decode()
    # Plain stdout, no rich highlighting or wrapping: this output is for other programs.
    sys.stdout.write(text + "\n")


def _text(value: object) -> str:
    return "" if value is None else escape(str(value))


# -- server ---------------------------------------------------------------------------------------------


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    no_example: Annotated[
        bool, typer.Option("--no-example", help="Do not load the worked example into an empty database.")
    ] = False,
) -> None:
    """Run the cellprov server (database from CELLPROV_DATABASE_URL; default a local SQLite file).

    The first start migrates the database, creates the admin user and prints its token once; an empty
    database gets the worked example, so there is something to trace right away.
    """
    from service import serving
    from service.bootstrap import prepare
    from service.config import Settings

    prepared = prepare(Settings())
    _announce_admin(prepared.admin_token, prepared.admin_password)
    if prepared.empty and not no_example:
        state = _state(ctx)
        token = prepared.admin_token or resolve(None, state.token).token
        local_url = f"http://{_loopback(host)}:{port}"
        if token:
            threading.Thread(
                target=_load_example_when_ready, args=(local_url, token), name="worked-example", daemon=True
            ).start()
        else:
            err_console.print(
                "[yellow]The database is empty but no admin token is at hand to load the worked example; "
                "run `cellprov example load --token …` once the server is up.[/]"
            )
    serving.serve(host, port)


@app.command()
def init() -> None:
    """Prepare the database (migrations, built-in item types) and create the admin user if there is none."""
    from service.bootstrap import prepare
    from service.config import Settings

    prepared = prepare(Settings())
    if prepared.admin_token is None:
        console.print(
            "The database is ready; an admin user already exists (its token was shown when it was made)."
        )
    else:
        _announce_admin(prepared.admin_token, prepared.admin_password)


def _announce_admin(token: str | None, password: str | None) -> None:
    if token is None:
        return
    body = (
        "The admin user was created. This is shown once; keep it somewhere safe.\n\n"
        f"  username: [bold]admin[/]\n  password: [bold]{escape(password or '(not set)')}[/]\n"
        f"  token:    [bold]{escape(token)}[/]"
    )
    console.print(Panel(body, title="cellprov admin", border_style="green", expand=False))
    # Outside the panel and never wrapped, so it can be copied into a shell as it is.
    console.print(f"[green]export CELLPROV_TOKEN={escape(token)}[/]", soft_wrap=True)


def _loopback(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _load_example_when_ready(url: str, token: str, give_up_after: float = 60.0) -> None:
    """Wait for the server that is starting in this process to answer /readyz, then load the example over
    HTTP, like any other client would."""
    deadline = time.monotonic() + give_up_after
    with Client(url, token, timeout=2.0, retries=0) as client:
        while not _is_ready(client):
            if time.monotonic() > deadline:
                err_console.print(
                    f"[red]The server at {url} was not ready after {give_up_after:.0f} s; "
                    "the worked example was not loaded.[/]"
                )
                return
            time.sleep(0.2)
    try:
        with Client(url, token) as client:
            made = load_worked_example(client)
    except (CellprovError, httpx.HTTPError) as exc:
        err_console.print(f"[red]Loading the worked example failed:[/] {escape(str(exc))}")
        return
    _print_example_summary(made)


def _is_ready(client: Client) -> bool:
    try:
        return client.ready()
    except httpx.HTTPError:
        return False


def _print_example_summary(made: WorkedExample) -> None:
    cells = ", ".join(f"{kind}: {' '.join(made.cells[kind])}" for kind in ANODE_KINDS)
    console.print(
        f"[green]Worked example loaded:[/] {len(made.lots)} lots, {len(made.steps)} steps; "
        f"cells {escape(cells)}."
    )
    console.print(f"try: [bold]cellprov trace {made.cells['MOF@CoPc/Li'][0]}[/]", soft_wrap=True)
    console.print(f"a recall: [bold]cellprov trace --down {made.fecl3_lot} --kind cell[/]", soft_wrap=True)


@example_app.command("load")
def example_load(ctx: typer.Context) -> None:
    """Load the worked example into a running server (a non-empty database gets a copy with new codes)."""
    with _connected(ctx) as client:
        made = load_worked_example(client)
    if _state(ctx).json:
        sys.stdout.write(
            json.dumps({**asdict(made), "fecl3_lot": made.fecl3_lot}, indent=2, ensure_ascii=False) + "\n"
        )
    else:
        _print_example_summary(made)


# -- lots and steps -------------------------------------------------------------------------------------


def _parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date like 2025-01-31", param_hint=option) from None


def _parse_property(text: str) -> tuple[str, Any]:
    """`key=value`: the value is JSON if it parses (numbers, true, null …), a quantity if it reads like
    one ("99.9 percent"), else a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise typer.BadParameter(f"{text!r} is not key=value", param_hint="--prop")
    raw = raw.strip()
    try:
        return key.strip(), json.loads(raw)
    except ValueError:
        pass
    try:
        return key.strip(), Quantity.model_validate(raw).model_dump()
    except ValidationError:
        return key.strip(), raw


@lot_app.command("add")
def lot_add(
    ctx: typer.Context,
    item_type: Annotated[str, typer.Argument(metavar="TYPE", help='Item type, e.g. "FeCl3·6H2O".')],
    quantity: Annotated[str, typer.Argument(help='Quantity received, e.g. "25 g" or "50 count".')],
    code: Annotated[str | None, typer.Option(help="Code to give the lot (default: generated).")] = None,
    name: Annotated[str | None, typer.Option(help="Product name as on the label.")] = None,
    supplier: Annotated[str | None, typer.Option(help="Supplier, e.g. Sigma-Aldrich.")] = None,
    catalog_number: Annotated[str | None, typer.Option(help="Supplier's catalogue number.")] = None,
    supplier_lot: Annotated[str | None, typer.Option(help="Supplier's lot/batch number.")] = None,
    received_on: Annotated[str | None, typer.Option(help="Date received, YYYY-MM-DD.")] = None,
    expires_on: Annotated[str | None, typer.Option(help="Expiry date, YYYY-MM-DD.")] = None,
    prop: Annotated[
        list[str] | None, typer.Option("--prop", help="Extra property key=value (repeatable).")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Receive a reagent or part lot, e.g. `cellprov lot add "FeCl3·6H2O" "25 g" --supplier Sigma-Aldrich`."""
    try:
        lot = LotIn(
            type=item_type,
            quantity=Quantity.model_validate(quantity),
            code=code,
            name=name,
            supplier=supplier,
            catalog_number=catalog_number,
            supplier_lot=supplier_lot,
            received_on=_parse_date(received_on, "--received-on"),
            expires_on=_parse_date(expires_on, "--expires-on"),
            properties=dict(_parse_property(text) for text in prop or []),
        )
    except ValidationError as exc:
        _fail_with_validation(exc)
    with _connected(ctx) as client:
        item = client.receive_lot(lot)
    if _wants_json(ctx, json_output):
        _print_json(item)
    else:
        console.print(
            f"Received [bold]{item.code}[/]: {_text(item.type)}, {_text(item.quantity)} ({item.status})."
        )


def _fail_with_validation(exc: ValidationError) -> typer.Exit:
    err_console.print("[bold red]error:[/] the request is not valid:")
    for error in exc.errors():
        pointer = "/" + "/".join(str(part) for part in error["loc"])
        err_console.print(f"  [red]•[/] [bold]{escape(pointer)}[/]: {escape(error['msg'])}")
    raise typer.Exit(1)


@step_app.command("log")
def step_log(
    ctx: typer.Context,
    file: Annotated[
        str,
        typer.Argument(metavar="FILE", help="JSON or YAML file with the step (a StepIn body); - for stdin."),
    ],
    json_output: JsonFlag = False,
) -> None:
    """Log a performed step from a file: protocol, parameters, inputs with roles and amounts, outputs.

    \b
    protocol: nh2-mil-101-fe-hydrothermal@1
    parameters: {temperature: 110 degC, duration: 24 h}
    inputs:
      - {role: iron_source, item: FECL-0001, amount: 2.75 g}
    outputs:
      - {type: NH2-MIL-101(Fe), quantity: 0.9 g}
    """
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        body = yaml.safe_load(text)  # YAML is a superset of JSON, so one parser reads both
    except (OSError, yaml.YAMLError) as exc:
        _fail(f"cannot read the step from {file}: {exc}")
    try:
        step_in = StepIn.model_validate(body)
    except ValidationError as exc:
        _fail_with_validation(exc)
    _submit_step(ctx, step_in, json_output)


def _submit_step(ctx: typer.Context, step_in: StepIn, json_output: bool) -> None:
    """Log the step; a refusal is shown as a table of violations: where, what, expected, got."""
    with _connected(ctx) as client:
        try:
            step = client.log_step(step_in)
        except CellprovError as exc:
            if not exc.errors:
                raise
            _print_violations(exc)
            raise typer.Exit(1) from None
    if _wants_json(ctx, json_output):
        _print_json(step)
        return
    console.print(f"Logged step [bold]#{step.id}[/] ({_text(step.protocol)}), status {step.status}.")
    for deviation in step.deviations:
        console.print(
            f"  [yellow]deviation[/] {_text(deviation.field)}: got {_text(deviation.got)}, "
            f"expected {_text(deviation.expected)} — {_text(deviation.justification)}"
        )
    for output in step.outputs:
        suffix = " [yellow](quarantined until released)[/]" if output.status == ItemStatus.quarantined else ""
        console.print(f"  made [bold]{output.code}[/]  {_text(output.type)}  {_text(output.name)}{suffix}")


def _print_violations(exc: CellprovError) -> None:
    problem = exc.problem
    err_console.print(f"[bold red]error:[/] [red]{exc.status} {escape(problem.detail or problem.title)}[/]")
    table = Table("field", "problem", "expected", "got", title="violations")
    for item in problem.errors:
        table.add_row(
            escape(item.pointer), escape(item.detail), _text(_plain(item.expected)), _text(_plain(item.got))
        )
    err_console.print(table)


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return _property_text(value)
    return value


# -- templates ------------------------------------------------------------------------------------------


@template_app.command("list")
def template_list(
    ctx: typer.Context,
    kind: Annotated[str | None, typer.Option(help="Only process or test templates.")] = None,
    json_output: JsonFlag = False,
) -> None:
    """The protocol templates and their versions."""
    with _connected(ctx) as client:
        found = client.templates(kind=kind)
    if _wants_json(ctx, json_output):
        _print_json(found)
        return
    table = Table("name", "kind", "latest", "published", "retired", "title", title=f"{len(found)} templates")
    for summary in found:
        table.add_row(
            summary.name,
            summary.kind,
            str(summary.latest),
            ", ".join(map(str, summary.published)),
            ", ".join(map(str, summary.retired)),
            _text(summary.title),
        )
    console.print(table)


def _split_ref(ref: str) -> tuple[str, int | None]:
    name, _, version = ref.partition("@")
    if version and not version.isdigit():
        raise typer.BadParameter(f"{ref!r} is not name or name@version", param_hint="TEMPLATE")
    return name, int(version) if version else None


@template_app.command("show")
def template_show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="TEMPLATE", help="name or name@version.")],
    json_output: JsonFlag = False,
) -> None:
    """One template: its parameters with nominal values and ranges, input roles, outputs and checks."""
    name, version = _split_ref(ref)
    with _connected(ctx) as client:
        template = client.template(name, version)
    if _wants_json(ctx, json_output):
        _print_json(template)
        return
    console.print(
        f"[bold]{escape(template.ref)}[/] {escape(template.title)} ({template.kind}, {template.status})"
    )
    if template.description:
        console.print(escape(template.description))
    parameters = Table("parameter", "kind", "accepted", "required", title="parameters")
    for parameter in template.parameters:
        accepted = ", ".join(parameter.choices or []) or parameter.describe()
        parameters.add_row(
            parameter.name, parameter.kind, escape(accepted), "yes" if parameter.required else "no"
        )
    console.print(parameters)
    if template.inputs:
        roles = Table("role", "item types", "count", "amount", title="inputs")
        for role in template.inputs:
            count = (
                f"{role.min_count}–{role.max_count}" if role.max_count is not None else f">= {role.min_count}"
            )
            amount = role.amount.describe() if role.amount else ""
            roles.add_row(role.role, escape(", ".join(role.types)), count, escape(amount))
        console.print(roles)
    if template.outputs:
        outputs = Table("makes", "count", "quantity", "properties", "quarantined", title="outputs")
        for output in template.outputs:
            count = f"{output.min_count}–{output.max_count}" if output.max_count else f">= {output.min_count}"
            properties = ", ".join(f"{p.name} ({p.describe()})" for p in output.properties)
            outputs.add_row(
                escape(", ".join(output.types)),
                count,
                escape(output.quantity.describe() if output.quantity else ""),
                escape(properties),
                "yes" if output.quarantined else "no",
            )
        console.print(outputs)
    if template.checks or template.derived:
        rules = Table("name", "expression", "accepted", title="checks and derived values")
        for derived in template.derived:
            rules.add_row(
                derived.name, escape(derived.expression), escape(f"computed, in {derived.unit or '1'}")
            )
        for check in template.checks:
            rules.add_row(check.name, escape(check.expression), escape(check.describe()))
        console.print(rules)


@template_app.command("validate")
def template_validate(
    file: Annotated[str, typer.Argument(metavar="FILE", help="YAML or JSON template file; - for stdin.")],
) -> None:
    """Check a template file before publishing it: its shape, units, names and check expressions.

    Runs locally, without a server; item types are checked against the built-in ones only.
    """
    from service.templates.validator import template_problems

    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        body = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        _fail(f"cannot read the template from {file}: {exc}")
    try:
        template = TemplateIn.model_validate(body)
    except ValidationError as exc:
        _fail_with_validation(exc)
    problems = template_problems(template, _builtin_types())
    if problems:
        table = Table("field", "problem", "expected", "got", title=f"{len(problems)} problem(s) in {file}")
        for item in problems:
            table.add_row(
                escape(item.pointer), escape(item.detail), _text(_plain(item.expected)), _text(item.got)
            )
        err_console.print(table)
        raise typer.Exit(1)
    console.print(
        f"[green]{escape(template.name)} is a valid template[/]: {len(template.parameters)} parameters, "
        f"{len(template.inputs)} input roles, {len(template.outputs)} outputs, {len(template.checks)} checks."
    )


def _builtin_types() -> set[str]:
    from importlib import resources

    text = resources.files("service.items").joinpath("builtin_types.yaml").read_text(encoding="utf-8")
    return {entry["name"] for entry in yaml.safe_load(text)}


@step_app.command("new")
def step_new(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="TEMPLATE", help="Template to follow: name or name@version.")],
    json_output: JsonFlag = False,
) -> None:
    """Log a step by answering the template's questions one by one, then submit it.

    Each parameter is asked with its nominal value and accepted range (Enter skips an optional one); then
    the item code and amount for each input role, then what was made.
    """
    name, version = _split_ref(ref)
    with _connected(ctx) as client:
        template = client.template(name, version)
    console.print(f"[bold]{escape(template.ref)}[/] {escape(template.title)}")
    parameters: dict[str, Any] = {}
    for parameter in template.parameters:
        answer = _ask_parameter(parameter)
        if answer is not None:
            parameters[parameter.name] = answer
    inputs: list[StepInputIn] = []
    for role in template.inputs:
        inputs += _ask_role(role)
    outputs = [_ask_output(spec) for spec in template.outputs]
    notes = typer.prompt("notes", default="", show_default=False) or None
    try:
        step_in = StepIn(
            protocol=template.ref,
            parameters=parameters,
            inputs=inputs,
            outputs=[o for o in outputs if o is not None],
            notes=notes,
        )
    except ValidationError as exc:
        _fail_with_validation(exc)
    _submit_step(ctx, step_in, json_output)


def _ask_parameter(parameter: ParameterSpec) -> Any:
    optional = "" if parameter.required else ", optional"
    if parameter.kind == ParameterKind.choice:
        choices = parameter.choices or []
        default = choices[0] if len(choices) == 1 else None
        return typer.prompt(f"{parameter.name} [{' | '.join(choices)}{optional}]", default=default)
    if parameter.kind == ParameterKind.bool:
        return typer.confirm(parameter.name)
    hint = (
        parameter.describe() if parameter.kind in (ParameterKind.quantity, ParameterKind.number) else "text"
    )
    default = None
    if parameter.nominal is not None:
        default = f"{parameter.nominal:g}" + (f" {parameter.unit}" if parameter.unit else "")
    while True:
        text = typer.prompt(
            f"{parameter.name} ({hint}{optional})",
            default=default if default is not None else ("" if not parameter.required else None),
            show_default=default is not None,
        ).strip()
        if not text and not parameter.required:
            return None
        if parameter.kind == ParameterKind.text:
            return text
        if parameter.kind == ParameterKind.number:
            try:
                return float(text)
            except ValueError:
                err_console.print(f"[red]{escape(text)!r} is not a number[/]")
                continue
        try:
            return Quantity.model_validate(
                text if " " in text or not parameter.unit else f"{text} {parameter.unit}"
            )
        except ValidationError:
            err_console.print(f"[red]{escape(text)!r} is not a quantity like '110 degC'[/]")


def _ask_role(role: InputRole) -> list[StepInputIn]:
    entries: list[StepInputIn] = []
    most = role.max_count if role.max_count is not None else 100
    while len(entries) < most:
        needed = len(entries) < role.min_count
        label = f"{role.role} item code ({', '.join(role.types)})" + ("" if needed else ", Enter when done")
        code = typer.prompt(label, default=None if needed else "", show_default=False).strip()
        if not code:
            break
        amount: Quantity | None = None
        if role.amount is not None:
            while True:
                text = typer.prompt(
                    f"  amount of {code} ({role.amount.describe()})",
                    default="" if not role.amount.required else None,
                    show_default=False,
                ).strip()
                if not text:
                    break
                try:
                    amount = Quantity.model_validate(text)
                    break
                except ValidationError:
                    err_console.print(f"[red]{escape(text)!r} is not a quantity like '2.75 g'[/]")
        entries.append(StepInputIn(role=role.role, item=code, amount=amount))
    return entries


def _ask_output(spec: OutputSpec) -> StepOutputIn | None:
    if len(spec.types) == 1:
        type_name = spec.types[0]
    else:
        type_name = typer.prompt(f"makes [{' | '.join(spec.types)}]", type=click.Choice(spec.types))
    count = typer.prompt(f"how many {type_name}", default=max(spec.min_count, 1), type=int)
    if count == 0:
        return None
    quantity = None
    if spec.quantity is not None:
        text = typer.prompt(
            f"  quantity of each {type_name} ({spec.quantity.describe()})",
            default="" if not spec.quantity.required else None,
            show_default=False,
        ).strip()
        quantity = Quantity.model_validate(text) if text else None
    properties: dict[str, Any] = {}
    for prop in spec.properties:
        text = typer.prompt(
            f"  {prop.name} ({prop.describe()})",
            default="" if not prop.required else None,
            show_default=False,
        ).strip()
        if text:
            properties[prop.name] = Quantity.model_validate(text).model_dump() if prop.unit else text
    return StepOutputIn(type=type_name, count=count, quantity=quantity, properties=properties)


# -- items ----------------------------------------------------------------------------------------------


@items_app.command("list")
def items_list(
    ctx: typer.Context,
    kind: Annotated[ItemKind | None, typer.Option(help="Only lots, batches or cells.")] = None,
    item_type: Annotated[str | None, typer.Option("--type", help='Only this item type, e.g. "DMF".')] = None,
    status: Annotated[ItemStatus | None, typer.Option(help="Only items with this status.")] = None,
    q: Annotated[
        str | None, typer.Option("--q", help="Text search in code, name, supplier, lot numbers.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Page size.")] = None,
    all_pages: Annotated[bool, typer.Option("--all", help="Fetch every page, not just the first.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """List items as a table, newest first as the server orders them."""
    with _connected(ctx) as client:
        if all_pages:
            found = list(client.iter_items(kind=kind, type=item_type, status=status, q=q, limit=limit))
            page = Page[ItemOut](items=found, next_cursor=None)
        else:
            page = client.items(kind=kind, type=item_type, status=status, q=q, limit=limit)
    if _wants_json(ctx, json_output):
        _print_json(page)
        return
    table = Table("code", "kind", "type", "name", "remaining", "status", title=f"{len(page.items)} items")
    for item in page.items:
        remaining = item.remaining if item.remaining is not None else item.quantity
        table.add_row(item.code, item.kind, _text(item.type), _text(item.name), _text(remaining), item.status)
    console.print(table)
    if page.next_cursor:
        console.print("[dim]More items: use --all to fetch every page.[/]")


@items_app.command("show")
def items_show(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Item code, e.g. FECL-0001.")],
    json_output: JsonFlag = False,
) -> None:
    """Show one item: what it is, how much is left, its status, version and the step that made it."""
    with _connected(ctx) as client:
        item = client.item(code)
    if _wants_json(ctx, json_output):
        _print_json(item)
        return
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    rows: list[tuple[str, object]] = [
        ("code", item.code),
        ("type", f"{item.type} ({item.kind})"),
        ("name", item.name),
        ("status", item.status + (f" — {item.void_reason}" if item.void_reason else "")),
        ("quantity", item.quantity),
        ("remaining", item.remaining),
        ("supplier", item.supplier),
        ("catalogue no.", item.catalog_number),
        ("supplier lot", item.supplier_lot),
        ("received on", item.received_on),
        ("expires on", item.expires_on),
        ("produced by", f"step #{item.produced_by}" if item.produced_by is not None else None),
        ("version", item.version),
        ("created", f"{item.created_at:%Y-%m-%d %H:%M} by {item.created_by}"),
        ("updated", f"{item.updated_at:%Y-%m-%d %H:%M}"),
    ]
    for label, value in rows:
        if value is not None:
            table.add_row(label, _text(value))
    for key, value in item.properties.items():
        table.add_row(f"  {escape(key)}", _text(_property_text(value)))
    console.print(Panel(table, title=f"{item.code}", expand=False))


def _property_text(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"value", "unit"}:
        return str(Quantity.model_validate(value))
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@items_app.command("history")
def items_history(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Item code.")],
    json_output: JsonFlag = False,
) -> None:
    """Every version of an item: who changed what, when and why."""
    with _connected(ctx) as client:
        versions = client.history(code)
    if _wants_json(ctx, json_output):
        _print_json(versions)
        return
    table = Table("version", "action", "at", "by", "reason", "changes", title=f"history of {code}")
    for version in versions:
        table.add_row(
            str(version.version),
            version.action,
            f"{version.at:%Y-%m-%d %H:%M:%S}",
            _text(version.by),
            _text(version.reason),
            _text(_changes_text(version)),
        )
    console.print(table)


def _changes_text(version: ItemVersion) -> str:
    parts = []
    for name, change in version.changes.items():
        if isinstance(change, dict) and ("old" in change or "new" in change):
            parts.append(f"{name}: {_short(change.get('old'))} → {_short(change.get('new'))}")
        else:
            parts.append(f"{name}: {_short(change)}")
    return "\n".join(parts)


def _short(value: Any) -> str:
    text = _property_text(value) if value is not None else "∅"
    return text if len(text) <= 60 else text[:57] + "…"


# -- lineage --------------------------------------------------------------------------------------------


@app.command()
def trace(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Item code to start from (a cell upstream, a lot downstream).")],
    down: Annotated[
        bool, typer.Option("--down", help="Walk downstream (what was made from it: a recall) instead of up.")
    ] = False,
    max_depth: Annotated[int | None, typer.Option(min=1, help="Stop after this many steps.")] = None,
    kind: Annotated[ItemKind | None, typer.Option(help="Only list items of this kind (e.g. cell).")] = None,
    item_type: Annotated[str | None, typer.Option("--type", help="Only list items of this type.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="tree (default), mermaid or dot.")] = "tree",
    json_output: JsonFlag = False,
) -> None:
    """Draw where an item came from (its inputs, recursively) or, with --down, everything made from it.

    \b
    cellprov trace CC-0001                       back to the reagent lots
    cellprov trace --down FECL-0001 --kind cell  the cells a lot went into
    cellprov trace CC-0001 --format mermaid      Mermaid source for a notebook
    """
    if fmt not in ("tree", "mermaid", "dot"):
        raise typer.BadParameter("choose tree, mermaid or dot", param_hint="--format")
    direction: Any = "down" if down else "up"
    with _connected(ctx) as client:
        if fmt in ("mermaid", "dot") and not _wants_json(ctx, json_output):
            text = client.lineage_text(
                code, direction, "mermaid" if fmt == "mermaid" else "dot",
                max_depth=max_depth, kind=kind, type=item_type,
            )  # fmt: skip
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
            return
        as_json = _wants_json(ctx, json_output)
        # A filtered trace prints a table of the items: their links and records would only be dropped.
        table = not as_json and (kind is not None or item_type is not None)
        include: LineageParts = "nodes" if table else "all"
        lineage = client.lineage(
            code, direction, max_depth=max_depth, kind=kind, type=item_type, include=include
        )
    if as_json:
        _print_json(lineage)
    elif table:
        console.print(_lineage_table(lineage))
    else:
        console.print(lineage_tree(lineage))


def lineage_tree(lineage: Lineage) -> Tree:
    """The lineage as a tree rooted at the item traced. Upstream, an item's children are its inputs;
    downstream, the items made from it. An item reached twice (a diamond: the same DMF lot in two steps)
    is shown each time but expanded only once."""
    nodes = {node.code: node for node in lineage.nodes}
    children: dict[str, list[tuple[str, list[LineageEdge]]]] = {}
    for edge in lineage.edges:
        parent, child = (
            (edge.target, edge.source) if lineage.direction == "up" else (edge.source, edge.target)
        )
        siblings = children.setdefault(parent, [])
        # One line per (item, step), with all its roles: DMF as solvent and as wash solvent is one input.
        for existing_child, edges in siblings:
            if existing_child == child and edges[0].step == edge.step:
                edges.append(edge)
                break
        else:
            siblings.append((child, [edge]))

    expanded: set[str] = set()

    def label(code: str, via: list[LineageEdge] | None) -> str:
        node = nodes.get(code)
        text = f"[bold]{escape(code)}[/]"
        if node is not None:
            text += f"  {escape(node.type)}"
            # A lot's name is the supplier's long product name; the type says enough in a tree.
            if node.name and node.kind != ItemKind.lot:
                text += f" [dim]“{escape(node.name)}”[/]"
            if node.status != "released":
                text += f" [yellow]({node.status})[/]"
        if via:
            roles = ", ".join(dict.fromkeys(edge.role for edge in via))
            text += f"  [cyan]{'as' if lineage.direction == 'down' else '←'} {escape(roles)}[/]"
            text += f" [dim]in {escape(via[0].protocol)} step #{via[0].step}[/]"
        return text

    def grow(branch: Tree, code: str) -> None:
        expanded.add(code)
        for child, via in children.get(code, []):
            if child in expanded and children.get(child):
                branch.add(label(child, via) + " [dim](see above)[/]")
                continue
            grow(branch.add(label(child, via)), child)

    tree = Tree(label(lineage.root, None))
    grow(tree, lineage.root)
    return tree


def _lineage_table(lineage: Lineage) -> Table:
    direction = "upstream of" if lineage.direction == "up" else "downstream of"
    found = [node for node in lineage.nodes if node.code != lineage.root]
    table = Table(
        "code",
        "kind",
        "type",
        "name",
        "status",
        "steps away",
        title=f"{len(found)} items {direction} {lineage.root}",
    )
    for node in sorted(found, key=_node_order):
        table.add_row(node.code, node.kind, _text(node.type), _text(node.name), node.status, str(node.depth))
    return table


def _node_order(node: LineageNode) -> tuple[int, str]:
    return node.depth, node.code


@app.command()
def origin(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Item code, e.g. a cell.")],
    json_output: JsonFlag = False,
) -> None:
    """For each item type upstream of an item, its nearest ancestors of that type (e.g. which FeCl3 lot)."""
    with _connected(ctx) as client:
        found = client.origin(code)
    if _wants_json(ctx, json_output):
        _print_json(found)
        return
    table = Table("type", "steps away", "items", title=f"origin of {found.root}")
    for group in found.origins:
        items = "\n".join(
            f"{node.code}" + (f"  [dim]{escape(node.name)}[/]" if node.name else "") for node in group.items
        )
        table.add_row(_text(group.type), str(group.depth), items)
    console.print(table)


class ExportFormat(StrEnum):
    prov_json = "prov-json"
    eln = "eln"


_EXPORT_SUFFIX = {ExportFormat.prov_json: ".prov.json", ExportFormat.eln: ".eln"}


@app.command("export")
def export(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Item code to export, e.g. a cell.")],
    fmt: Annotated[
        ExportFormat,
        typer.Option("--format", help="prov-json (W3C PROV) or eln (ELN Consortium archive)."),
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
    cellprov export FECL-0001 --down --max-depth 2 --out recall.prov.json
    """
    target = out or Path(code + _EXPORT_SUFFIX[fmt])
    with _connected(ctx) as client, err_console.status(f"Exporting {escape(code)} as {fmt.value} …"):
        content = client.export(
            code,
            "eln" if fmt is ExportFormat.eln else "prov-json",
            max_depth,
            direction="down" if down else "up",
        )
    try:
        target.write_bytes(content)
    except OSError as exc:
        _fail(f"cannot write {target}: {exc}")
    if _state(ctx).json:
        sys.stdout.write(
            json.dumps({"path": str(target.resolve()), "format": fmt.value, "bytes": len(content)}) + "\n"
        )
    else:
        console.print(f"Wrote [bold]{escape(str(target))}[/] ({len(content):,} bytes, {fmt.value}).")


# -- audit trail and signatures ---------------------------------------------------------------------------

audit_app = typer.Typer(help="The audit trail: list events, verify the chain, export it, keep checkpoints.")
app.add_typer(audit_app, name="audit", no_args_is_help=True)

DEFAULT_CHECKPOINTS = Path("~/.config/cellprov/checkpoints.jsonl")


@audit_app.command("list")
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
    with _connected(ctx) as client:
        page = client.audit_events(
            actor=actor, action=action, entity_id=entity, lineage_of=lineage_of, limit=limit
        )
    if _wants_json(ctx, json_output):
        _print_json(page)
        return
    table = Table("seq", "when (UTC)", "who", "action", "record", "reason", title="audit trail")
    for event in page.items:
        record = f"{event.entity_type} {event.entity_id}" + (
            f" v{event.entity_version}" if event.entity_version else ""
        )
        table.add_row(
            str(event.seq),
            event.at.strftime("%Y-%m-%d %H:%M:%S"),
            _text(event.actor_name or "system"),
            _text(event.action),
            _text(record),
            _text(event.reason),
        )
    console.print(table)
    if page.next_cursor:
        console.print("[dim]more events: raise --limit or filter[/]")


@audit_app.command("verify")
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
            _fail(str(exc))
    else:
        with _connected(ctx) as client:
            check, manifest = client.verify_audit(), None
    if _wants_json(ctx, json_output):
        _print_json(check)
    elif check.ok:
        source = (
            f"{file} (exported {manifest.exported_at:%Y-%m-%d %H:%M} by {manifest.exported_by})"
            if (file and manifest)
            else "the server's trail"
        )
        console.print(
            f"[green]✓[/] {escape(source)}: {check.size} events, chain intact, head {check.head_hash[:16]}…"
        )
    else:
        err_console.print(
            f"[bold red]✗ chain broken at event {check.first_bad_seq}:[/] {escape(check.problem or '')}"
        )
    if not check.ok:
        raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    out: Annotated[Path | None, typer.Option(help="File to write (default cellprov-audit.FORMAT).")] = None,
) -> None:
    """Download the whole audit trail (streamed) with its manifest; check it with `audit verify FILE`."""
    from rich.progress import DownloadColumn, Progress, SpinnerColumn, TimeElapsedColumn, TransferSpeedColumn

    if fmt not in ("jsonl", "csv"):
        _fail("--format must be jsonl or csv")
    target = out or Path(f"cellprov-audit.{fmt}")
    columns = (
        SpinnerColumn(),
        "[progress.description]{task.description}",
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
    )
    with (
        _connected(ctx) as client,
        target.open("wb") as handle,
        Progress(*columns, console=err_console) as bar,
    ):
        task = bar.add_task(f"exporting to {target}", total=None)
        written = client.export_audit(fmt, handle, progress=lambda done: bar.update(task, completed=done))
    console.print(
        f"Wrote [bold]{escape(str(target))}[/] ({written:,} bytes). Check it with "
        f"`cellprov audit verify {escape(str(target))}`."
    )


@audit_app.command("checkpoint")
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
    with _connected(ctx) as client:
        new = client.checkpoint()
        kept = read_kept_checkpoints(path) if path.exists() else []
        proof = (
            client.consistency_proof(kept[-1].size, new.size) if kept and kept[-1].size <= new.size else None
        )
        try:
            previous = accept_checkpoint(path, new, proof, client.audit_public_key())
        except ProofError as exc:
            _fail(f"the server's trail is NOT consistent with your kept checkpoint: {exc}")
    if _wants_json(ctx, json_output):
        _print_json(new)
    elif previous is None:
        console.print(
            f"First checkpoint kept in {escape(str(path))}: {new.size} events, root {new.root_hex[:16]}…"
        )
    else:
        console.print(f"[green]✓[/] {new.size} events extend your kept checkpoint of {previous.size}; kept.")


@app.command()
def sign(
    ctx: typer.Context,
    record: Annotated[str, typer.Argument(help='The record: "item:CC-0001" or "step:12".')],
    meaning: Annotated[str, typer.Option(help="authored, reviewed, approved or witnessed.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, help="Your password (asked for).")],
    json_output: JsonFlag = False,
) -> None:
    """E-sign a record as it is now. Editing it later marks the signature as no longer valid."""
    with _connected(ctx) as client:
        signature = client.sign(record, meaning, password)
    if _wants_json(ctx, json_output):
        _print_json(signature)
    else:
        console.print(
            f"Signed {escape(signature.record)} v{signature.record_version or '-'} as "
            f"[bold]{signature.meaning}[/] by {escape(signature.signer_name)} at "
            f"{signature.signed_at:%Y-%m-%d %H:%M:%S} UTC (sha256 {signature.record_sha256[:16]}…)."
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
        _fail_with_validation(exc)
        raise


@test_app.command("upload")
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
            _fail_with_validation(exc)
    with _connected(ctx) as client, file.open("rb") as handle:
        columns = [TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn()]
        with Progress(*columns, console=err_console, transient=True) as progress:
            task = progress.add_task(f"uploading {file.name}", total=file.stat().st_size)
            run = client.upload_test(cell, file.name, _Progress(handle, progress, task), protocol, chosen)  # type: ignore[arg-type]
    if _wants_json(ctx, json_output):
        _print_json(run)
        return
    console.print(
        f"[green]Test run {run.id}[/] of {escape(run.cell)}: {escape(run.format)} read by "
        f"{escape(run.parser)} {escape(run.parser_version)}, "
        f"{run.record_count} records, {run.cycle_count} cycles"
    )
    console.print(_metrics_table(run))


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _metrics_table(run: TestRunOut) -> Table:
    table = Table(title=f"metrics of test {run.id} ({run.kind})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("unit")
    table.add_column("note", style="dim")
    for metric in run.metrics:
        table.add_row(metric.name, _number(metric.value), metric.unit, _text(metric.note))
    return table


@test_app.command("show")
def test_show(
    ctx: typer.Context,
    test_id: Annotated[int, typer.Argument(help="Test run id.")],
    plot: Annotated[Path | None, typer.Option(help="Also save the capacity/CE plot (.png or .svg).")] = None,
    cycles: Annotated[bool, typer.Option("--cycles", help="Also list the per-cycle table.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Show a test run: its file, parser and metrics (and per-cycle data with --cycles)."""
    with _connected(ctx) as client:
        run = client.test_run(test_id)
        per_cycle = client.cycles(test_id) if cycles else []
        if plot is not None:
            plot.write_bytes(client.plot(test_id, "svg" if plot.suffix.lower() == ".svg" else "png"))
    if _wants_json(ctx, json_output):
        _print_json(run)
        return
    console.print(
        f"[bold]Test {run.id}[/] of {escape(run.cell)} under {escape(run.protocol)}: {escape(run.file.name)} "
        f"({escape(run.format)}, {escape(run.parser)} {escape(run.parser_version)}), "
        f"{run.cycle_count} cycles in {run.duration_h:.1f} h"
    )
    console.print(_metrics_table(run))
    if per_cycle:
        table = Table(title="cycles")
        for name in ("cycle", "hw", "charge mAh", "discharge mAh", "CE %", "mAh/g"):
            table.add_column(name, justify="right")
        returned = "discharge" if run.leading == "charge" else "charge"
        for c in per_cycle:
            table.add_row(
                str(c.cycle),
                _text(c.hw_cycle),
                _number(c.charge_mAh),
                _number(c.discharge_mAh),
                _number(c.ce_pct),
                _number(getattr(c, f"{returned}_mAh_g")),
            )
        console.print(table)
    if plot is not None:
        console.print(f"plot saved to {escape(str(plot))}")


@analysis_app.command("add")
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
            _fail(f"--result {text!r}: write NAME=VALUE UNIT, e.g. 'LiF fraction=41.7 %'")
        results.append(ResultIn(name=name.strip(), value=parsed.value, unit=parsed.unit))
    with _connected(ctx) as client:
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
            _fail_with_validation(exc)
        analysis = client.add_analysis(body)
    if _wants_json(ctx, json_output):
        _print_json(analysis)
        return
    console.print(
        f"[green]Analysis {analysis.id}[/] ({escape(analysis.technique)}) "
        f"of {escape(', '.join(analysis.subjects))}"
    )
    for r in analysis.results:
        console.print(f"  {escape(r.name)}: {r.value:g} {escape(r.unit)}")


@app.command()
def compare(
    ctx: typer.Context,
    by: Annotated[
        str,
        typer.Option(
            help="cell, role:<input role> (e.g. role:anode) or type:<item type> (e.g. type:MOF@CoPc)."
        ),
    ] = "role:anode",
    protocol: Annotated[str | None, typer.Option(help="Only runs under this test protocol.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Also save a comparison plot (.png or .svg).")] = None,
    cohort: Annotated[
        list[str] | None,
        typer.Option(help="NAME:descends_from=CODE (repeat it): group by cohort, list upstream differences."),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Compare test metrics of many cells, grouped by what is upstream of them: did this batch do better?"""
    with _connected(ctx) as client:
        comparison = client.compare(by, protocol, cohorts=cohort)
        if plot is not None:
            fmt: Literal["png", "svg"] = "svg" if plot.suffix.lower() == ".svg" else "png"
            plot.write_bytes(client.compare_plot(by, protocol, fmt, cohorts=cohort))
    if _wants_json(ctx, json_output):
        _print_json(comparison)
        return
    names = sorted({name for group in comparison.groups for name in group.mean})
    preferred = [
        n
        for n in (
            "initial_specific_capacity",
            "capacity_retention",
            "fade_per_cycle",
            "average_ce",
            "cycles_to_80pct",
            "hours_to_overpotential_limit",
        )
        if n in names
    ] or names[:5]
    table = Table(
        title=f"test metrics by {escape(comparison.by)}" + (f" ({escape(protocol)})" if protocol else "")
    )
    table.add_column("group")
    table.add_column("cells", justify="right")
    for name in preferred:
        table.add_column(f"mean {name}", justify="right")
    for group in comparison.groups:
        table.add_row(_text(group.group), str(group.n), *[_number(group.mean.get(n)) for n in preferred])
    console.print(table)
    print_upstream_differences(comparison)
    if plot is not None:
        console.print(f"plot saved to {escape(str(plot))}")


# -- notebook entries and search ------------------------------------------------------------------------

note_app = typer.Typer(help="Notebook entries: write what you saw, linked to the records it is about.")
app.add_typer(note_app, name="note", no_args_is_help=True)

EDITOR_TEMPLATE = (
    "\n# Write the entry above in Markdown. The first line is the title unless --title is given.\n"
)


def _link(code: str) -> str:
    """`CC-0001` is an item; other records are written out, e.g. `step:12`."""
    return code if ":" in code else f"item:{code}"


def _from_editor() -> str:
    written = click.edit(EDITOR_TEMPLATE, extension=".md")
    if written is None:
        raise _fail("the editor was closed without saving; nothing was written")
    return "\n".join(line for line in written.splitlines() if not line.startswith("# Write the entry above"))


@note_app.command("add")
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
        _fail("the entry is empty: give a text, or a --title")
    try:
        entry = EntryIn(
            title=title[:200], body=body, tags=tag or [], links=[_link(code) for code in link or []]
        )
    except ValidationError as exc:
        _fail_with_validation(exc)
    with _connected(ctx) as client:
        written = client.write_entry(entry, files=file or [])
    if _wants_json(ctx, json_output):
        _print_json(written)
        return
    attached = f", {len(written.attachments)} file(s) attached" if written.attachments else ""
    console.print(
        f'Wrote entry [bold]{written.id}[/] "{escape(written.title)}"'
        f"{' about ' + escape(', '.join(written.links)) if written.links else ''}{attached}."
    )


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[list[str], typer.Argument(help="Words, codes or lot numbers (all must match).")],
    kind: Annotated[str | None, typer.Option(help="Only item, step or entry.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    json_output: JsonFlag = False,
) -> None:
    """Search items, lot numbers, step notes and notebook entries, best match first."""
    with _connected(ctx) as client:
        results = client.search(" ".join(query), kind=kind, limit=limit)
    if _wants_json(ctx, json_output):
        _print_json(results)
        return
    if not results.hits:
        console.print(f"Nothing matches {escape(results.query)!r}.")
        return
    table = Table("kind", "record", "title", "matched", title=f"search: {escape(results.query)}")
    for hit in results.hits:
        table.add_row(hit.kind, _text(hit.key), _text(hit.title), _marked(hit.snippet, hit.highlights))
    console.print(table)


def _marked(snippet: str, spans: list[tuple[int, int]]) -> str:
    """The snippet as rich markup with its matches in bold, everything else escaped."""
    out, at = [], 0
    for start, end in spans:
        out += [escape(snippet[at:start]), "[bold yellow]", escape(snippet[start:end]), "[/]"]
        at = end
    out.append(escape(snippet[at:]))
    return "".join(out)


def main() -> None:
    """Entry point of the `cellprov` console script."""
    app()


if __name__ == "__main__":
    main()
