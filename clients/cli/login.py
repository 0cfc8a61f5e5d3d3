"""`cellprov login` and `cellprov logout`: trade your password for a token kept in the config file, and
revoke it again."""

from __future__ import annotations

import os
import socket
from typing import Annotated

import httpx
import typer
from rich.markup import escape

from clients.cli import output
from clients.cli.connect import cli_state
from clients.client import API_PREFIX, DEFAULT_URL, CellprovError, Client
from clients.config import ConfigError, config_path, forget_token, read_config_file, save_login

app = typer.Typer()


def _server_root(url: str) -> str:
    """What people paste: the root, the API's root or the browser's; the client wants the root."""
    url = url.strip().rstrip("/")
    for suffix in (API_PREFIX, "/ui", "/docs"):
        url = url.removesuffix(suffix)
    return url if "://" in url else f"http://{url}"


def _saved() -> dict[str, object]:
    try:
        return read_config_file(config_path())
    except ConfigError as exc:
        output.fail(str(exc))


@app.command()
def login(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            help="The server, e.g. http://lab-server:8000 (default: the last one you logged in to)."
        ),
    ] = None,
    username: Annotated[str | None, typer.Option(help="Asked for when not given.")] = None,
    days: Annotated[int, typer.Option(min=1, max=366, help="How long the token stays valid.")] = 90,
) -> None:
    """Log in to a cellprov server: asks for your username and password, keeps the server and a token in
    your config file (readable by you only). The same password logs into the browser pages."""
    saved = _saved()
    chosen = url or cli_state(ctx).url or os.environ.get("CELLPROV_URL") or saved.get("url") or DEFAULT_URL
    root = _server_root(str(chosen))
    name = username or typer.prompt("username", default=saved.get("username") or None)
    password = typer.prompt("password", hide_input=True)
    try:
        with Client(root, retries=0, timeout=15.0) as client:
            issued = client.create_token(
                name, password, name=f"cellprov login on {socket.gethostname()}"[:100], expires_in_days=days
            )
    except CellprovError as exc:
        if exc.status in (401, 422):
            output.fail(f"wrong username or password for {root}")
        output.fail_with_problem(exc)
    except httpx.TransportError as exc:
        output.fail(f"cannot reach a cellprov server at {root} ({type(exc).__name__}); check the --url")
    _revoke_quietly(saved, root)
    path = config_path()
    save_login(path, root, issued.user.username, issued.token, issued.id)
    output.console.print(
        f"Logged in to [bold]{escape(root)}[/] as [bold]{escape(issued.user.username)}[/] "
        f"({issued.user.role}); the token is valid until {issued.expires_at:%Y-%m-%d} and kept in "
        f"{escape(str(path))}."
    )
    if os.environ.get("CELLPROV_TOKEN") or os.environ.get("CELLPROV_URL"):
        output.err_console.print(
            "[yellow]CELLPROV_TOKEN or CELLPROV_URL is set in this shell and wins over the login; "
            "`unset CELLPROV_TOKEN CELLPROV_URL` to use it.[/]"
        )


def _revoke_quietly(saved: dict[str, object], root: str) -> None:
    """Logging in again replaces the kept token; the old one should not stay valid behind your back."""
    token, token_id = saved.get("token"), saved.get("token_id")
    if not isinstance(token, str) or not isinstance(token_id, int) or saved.get("url") != root:
        return
    try:
        with Client(root, token, retries=0, timeout=5.0) as client:
            client.request("POST", f"/tokens/{token_id}/revoke")
    except (CellprovError, httpx.HTTPError):
        pass  # expired or already revoked: nothing to undo


@app.command()
def logout() -> None:
    """Revoke the token `cellprov login` kept (it stops working on every server at once) and forget it."""
    path = config_path()
    saved = _saved()
    token, token_id, url = saved.get("token"), saved.get("token_id"), saved.get("url")
    if not isinstance(token, str):
        output.console.print(f"Not logged in ({escape(str(path))} holds no token).")
        return
    if isinstance(token_id, int) and isinstance(url, str):
        try:
            with Client(url, token, retries=0, timeout=15.0) as client:
                revoked = client.request("POST", f"/tokens/{token_id}/revoke")
        except CellprovError as exc:
            if exc.status != 401:
                output.fail_with_problem(exc)
            message = "The token had stopped working already (expired or revoked); forgotten."
        except httpx.TransportError as exc:
            output.fail(
                f"cannot reach {url} to revoke the token ({type(exc).__name__}); it is kept, try again later"
            )
        else:
            message = f"Revoked token {revoked.json()['id']} on {escape(url)} and forgot it."
    else:
        message = "Forgot the token; it was not made by `cellprov login`, so revoke it in the browser."
    forget_token(path)
    output.console.print(message)
