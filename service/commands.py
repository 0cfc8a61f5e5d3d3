"""`cellprov-server`: the commands run on the server's machine — serve, init, backup, restore.

They talk to the database and the file store directly, so they need the server's dependencies
(`pip install 'cellprov[server]'`); the lab's client, `cellprov`, talks to a server over HTTP only.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from clients.cli.example import print_example_summary
from clients.client import CellprovError, Client
from clients.example import load_worked_example
from service import ops

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="cellprov-server",
    help="The cellprov server: serve the API and the browser pages, prepare the database, back it up.\n\n"
    "The lab's client is `cellprov` (log in with `cellprov login --url URL`).",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
app.add_typer(ops.app)  # backup, restore


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Server processes on this port, sharing database and file store. Default: one per core on "
            "PostgreSQL; one on SQLite, where one writer at a time holds the database (more still serve "
            "reads in parallel).",
        ),
    ] = None,
    no_example: Annotated[
        bool, typer.Option("--no-example", help="Do not load the worked example into an empty database.")
    ] = False,
) -> None:
    """Run the cellprov server (database from CELLPROV_DATABASE_URL; default a local SQLite file).

    The first start migrates the database, creates the admin user and prints its password and token once;
    an empty database gets the worked example, so there is something to trace right away.
    """
    from service import serving
    from service.bootstrap import prepare
    from service.config import Settings

    prepared = prepare(Settings())
    local_url = f"http://{_loopback(host)}:{port}"
    _announce_admin(prepared.admin_token, prepared.admin_password)
    _announce_addresses(local_url, first_start=prepared.admin_token is not None)
    if prepared.empty and not no_example:
        if prepared.admin_token:
            threading.Thread(
                target=_load_example_when_ready,
                args=(local_url, prepared.admin_token),
                name="worked-example",
                daemon=True,
            ).start()
        else:
            err_console.print(
                "[yellow]The database is empty but no admin token is at hand to load the worked example; "
                "run `cellprov example load` once the server is up and you are logged in.[/]"
            )
    serving.serve(host, port, workers or serving.default_workers(Settings()))


@app.command()
def init() -> None:
    """Prepare the database (migrations, built-in item types) and create the admin user if there is none."""
    from service.bootstrap import prepare
    from service.config import Settings

    prepared = prepare(Settings())
    if prepared.admin_token is None:
        console.print(
            "The database is ready; an admin user already exists (its password was shown when it was made)."
        )
    else:
        _announce_admin(prepared.admin_token, prepared.admin_password)


def _announce_admin(token: str | None, password: str | None) -> None:
    if token is None:
        return
    body = (
        "The admin user was created. This is shown once; keep it somewhere safe.\n\n"
        f"  username: [bold]admin[/]\n  password: [bold]{escape(password or '(not set)')}[/]\n"
        f"  token:    [bold]{escape(token)}[/]\n\n"
        "The password logs into the browser pages and into `cellprov login`."
    )
    console.print(Panel(body, title="cellprov admin", border_style="green", expand=False))
    # Outside the panel and never wrapped, so it can be copied into a shell as it is.
    console.print(f"[green]export CELLPROV_TOKEN={escape(token)}[/]", soft_wrap=True)


def _announce_addresses(url: str, first_start: bool) -> None:
    """Where to go next, copyable line by line: the client in this checkout, logging in, the browser."""
    who = "admin and the password above" if first_start else "your username and password"
    lines = [
        f"cellprov serves {url}  (API {url}/api/v1, docs {url}/docs)",
        f"in the browser: {url}/ui  — log in as {who}",
        "from a shell in this folder:",
        "  source .venv/bin/activate",
        f"  cellprov login --url {url}",
    ]
    for line in lines:
        console.print(escape(line), soft_wrap=True, highlight=False)


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
    print_example_summary(made)


def _is_ready(client: Client) -> bool:
    try:
        return client.ready()
    except httpx.HTTPError:
        return False


def main() -> None:
    """Entry point of the `cellprov-server` console script."""
    app()


if __name__ == "__main__":
    main()
