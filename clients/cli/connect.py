"""How a command reaches the server: the options every command shares (--url, --token, --json) and the
client made from them, the config file and the environment."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import unquote

import httpx
import typer

from clients.cli import output
from clients.client import CellprovError, Client
from clients.config import ConfigError, resolve
from clients.wizard import no_such_item

JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print the server's answer as JSON (for scripts) instead of tables.")
]


@dataclass
class State:
    url: str | None = None
    token: str | None = None
    json: bool = False


def cli_state(ctx: typer.Context) -> State:
    state = ctx.find_object(State)
    return state if state is not None else State()


def wants_json(ctx: typer.Context, flag: bool = False) -> bool:
    return flag or cli_state(ctx).json


_ITEM_PATH = re.compile(r"/items/([^/]+)$")
_NO_ITEM = re.compile(r"no item with code '([^']+)'")


def did_you_mean(client: Client, exc: CellprovError) -> list[str]:
    """For each item code the server did not find, the codes like it ("no item CC-0O01 — did you mean
    CC-0001?"): a bare 404 sends a user hunting through lists."""
    missing: list[str] = []
    if exc.status == 404 and (named := _NO_ITEM.search(exc.problem.detail or "")):
        missing.append(named.group(1))
    elif exc.status == 404 and (path := _ITEM_PATH.search(unquote(exc.response.request.url.path))):
        missing.append(path.group(1))
    missing += [
        str(item.got)
        for item in exc.errors
        if item.detail == "no item with this code" and isinstance(item.got, str)
    ]
    try:
        return [no_such_item(code, client.codes_like(code)) for code in dict.fromkeys(missing)]
    except (CellprovError, httpx.TransportError):
        return []  # the hint is a courtesy; the refusal itself is what must be shown


@contextmanager
def connected(ctx: typer.Context, **options: float) -> Iterator[Client]:
    """A client for the configured server; server errors become a red message and exit code 1."""
    state = cli_state(ctx)
    try:
        config = resolve(state.url, state.token)
    except ConfigError as exc:
        output.fail(str(exc))
    try:
        with Client(config.url, config.token, **options) as client:  # type: ignore[arg-type]
            try:
                yield client
            except CellprovError as exc:
                output.fail_with_problem(exc, did_you_mean(client, exc))
    except httpx.TransportError as exc:
        output.fail(
            f"cannot reach the cellprov server at {config.url} ({type(exc).__name__}: {exc}).\n"
            "Start one with `make run` (or `cellprov-server serve`), or log in to a running one with "
            "`cellprov login --url URL`."
        )
