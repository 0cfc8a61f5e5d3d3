"""The `cellprov` command line: one module per command group, registered here.

Shared by every module: `output` (consoles, errors, JSON, numbers and units for people), `connect` (the
--url/--token/--json options and the client made from them), `parse` (command-line text into values).
A new group is a module with `app = typer.Typer(...)`, added below with one line.
"""

from __future__ import annotations

from typing import Annotated

import typer

from clients.cli import (
    analysis,
    audit,
    compare,
    eln_import,
    example,
    export,
    harvest,
    instruments,
    items,
    login,
    lot,
    note,
    search,
    sign,
    step,
    template,
    testruns,
    token,
    trace,
    user,
)
from clients.cli.connect import JsonFlag, State


def _flag_type_in_help(self: typer.core.TyperOption, ctx: typer.Context) -> str | None:
    # typer's rich help prints a value type after every option, flags too (`--json <bool>`); a flag takes
    # no value, so it shows none, as click's plain help does.
    return None if self.is_flag else _typed_option_help(self, ctx)


_typed_option_help = typer.core.TyperOption.display_type_rich
typer.core.TyperOption.display_type_rich = _flag_type_in_help  # type: ignore[method-assign,assignment]

app = typer.Typer(
    name="cellprov",
    help="cellprov: the lab's notebook and synthesis-to-cell provenance, from the command line.\n\n"
    "Log in to your lab's server with `cellprov login --url URL`; then try `cellprov items list`.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


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


# Groups: `cellprov GROUP COMMAND`.
app.add_typer(example.app, name="example", no_args_is_help=True)
app.add_typer(lot.app, name="lot", no_args_is_help=True)
app.add_typer(step.app, name="step", no_args_is_help=True)
app.add_typer(items.app, name="items", no_args_is_help=True)
app.add_typer(template.app, name="template", no_args_is_help=True)
app.add_typer(testruns.app, name="test", no_args_is_help=True)
app.add_typer(analysis.app, name="analysis", no_args_is_help=True)
app.add_typer(audit.app, name="audit", no_args_is_help=True)
app.add_typer(note.app, name="note", no_args_is_help=True)
app.add_typer(instruments.app, name="instrument", no_args_is_help=True)
app.add_typer(user.app, name="user", no_args_is_help=True)
app.add_typer(token.app, name="token", no_args_is_help=True)
# Top-level commands: `cellprov trace CODE`, `cellprov search WORDS` ...
for module in (login, trace, export, sign, compare, search, harvest, eln_import):
    app.add_typer(module.app)


def main() -> None:
    """Entry point of the `cellprov` console script."""
    app()
