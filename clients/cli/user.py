"""`cellprov user add`: accounts for the people of the lab (admins)."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape

from clients.cli import output
from clients.cli.connect import JsonFlag, connected, wants_json
from schemas import Role, UserIn

app = typer.Typer(help="Users: add an account for somebody in the lab (admins).")


@app.command("add")
def user_add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Login name, e.g. nora.")],
    role: Annotated[Role, typer.Option(help="What they may do: scientist, reviewer, auditor or admin.")],
    full_name: Annotated[str | None, typer.Option(help="Their name as it appears on signatures.")] = None,
    password: Annotated[
        str,
        typer.Option(
            prompt="Their first password (8 characters or more)",
            hide_input=True,
            confirmation_prompt=True,
            help="Asked for, never echoed; they log in with it (`cellprov login`, or /ui in a browser).",
        ),
    ] = "",
    json_output: JsonFlag = False,
) -> None:
    """Add a user with a role; give them the password by hand, they can log in at once."""
    try:
        body = UserIn(username=username, full_name=full_name or username, role=role, password=password)
    except ValidationError as exc:
        output.fail_with_validation(exc)
    with connected(ctx) as client:
        user = client.create_user(body)
    if wants_json(ctx, json_output):
        output.print_json(user)
        return
    output.console.print(
        f"Added user [bold]{escape(user.username)}[/] ({user.role}), {escape(user.full_name)}. "
        f"They log in with `cellprov login` or in a browser at /ui."
    )
