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
from pathlib import Path
from typing import Annotated, Any

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

from clients.client import CellprovError, Client
from clients.config import ConfigError, resolve
from clients.example import ANODE_KINDS, WorkedExample, load_worked_example
from schemas import (
    ItemKind,
    ItemOut,
    ItemStatus,
    ItemVersion,
    Lineage,
    LineageEdge,
    LineageNode,
    LotIn,
    Page,
    Quantity,
    StepIn,
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
app.add_typer(example_app, name="example", no_args_is_help=True)
app.add_typer(lot_app, name="lot", no_args_is_help=True)
app.add_typer(step_app, name="step", no_args_is_help=True)
app.add_typer(items_app, name="items", no_args_is_help=True)
test_app = typer.Typer(help="Test runs: upload a cell's cycler file, show its cycles and metrics.")
analysis_app = typer.Typer(help="Analyses: characterisations of items (XRD, XPS, EIS …) with results.")
app.add_typer(test_app, name="test", no_args_is_help=True)
app.add_typer(analysis_app, name="analysis", no_args_is_help=True)

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
    import uvicorn

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
    uvicorn.run("service.app:create_app", factory=True, host=host, port=port)


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
    with _connected(ctx) as client:
        step = client.log_step(step_in)
    if _wants_json(ctx, json_output):
        _print_json(step)
        return
    console.print(f"Logged step [bold]#{step.id}[/] ({_text(step.protocol)}), status {step.status}.")
    for output in step.outputs:
        console.print(f"  made [bold]{output.code}[/]  {_text(output.type)}  {_text(output.name)}")


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
        lineage = client.lineage(code, direction, max_depth=max_depth, kind=kind, type=item_type)
    if _wants_json(ctx, json_output):
        _print_json(lineage)
    elif kind is not None or item_type is not None:
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
    json_output: JsonFlag = False,
) -> None:
    """Compare test metrics of many cells, grouped by what is upstream of them: did this batch do better?"""
    with _connected(ctx) as client:
        comparison = client.compare(by, protocol)
        if plot is not None:
            plot.write_bytes(
                client.compare_plot(by, protocol, "svg" if plot.suffix.lower() == ".svg" else "png")
            )
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
    if plot is not None:
        console.print(f"plot saved to {escape(str(plot))}")


def main() -> None:
    """Entry point of the `cellprov` console script."""
    app()


if __name__ == "__main__":
    main()
