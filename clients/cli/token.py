"""`cellprov token list|revoke`: your bearer tokens, and revoking one (a lost laptop, a retired script)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from clients.cli import output
from clients.cli.connect import JsonFlag, connected, wants_json
from schemas import TokenInfo

app = typer.Typer(help="Tokens: list yours, revoke one.")


def _state(token: TokenInfo, now: datetime) -> str:
    if token.revoked_at is not None:
        return f"revoked {token.revoked_at:%Y-%m-%d %H:%M}"
    if token.expires_at <= now:
        return "expired"
    return "live"


@app.command("list")
def token_list(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """Your tokens, newest first: which are live, expired or revoked (their secrets are never shown)."""
    with connected(ctx) as client:
        tokens = client.tokens()
    if wants_json(ctx, json_output):
        output.print_json(tokens)
        return
    now = datetime.now(UTC)
    table = Table("id", "name", "created", "expires", "state", title=output.count(len(tokens), "token"))
    for token in tokens:
        table.add_row(
            str(token.id),
            escape(token.name),
            f"{token.created_at:%Y-%m-%d %H:%M}",
            f"{token.expires_at:%Y-%m-%d}",
            _state(token, now),
        )
    output.console.print(table)


@app.command("revoke")
def token_revoke(
    ctx: typer.Context,
    token_id: Annotated[
        int, typer.Argument(metavar="ID", help="The token's id (see `cellprov token list`).")
    ],
    json_output: JsonFlag = False,
) -> None:
    """Revoke a token: every server refuses it from the next request on."""
    with connected(ctx) as client:
        token = client.revoke_token(token_id)
    if wants_json(ctx, json_output):
        output.print_json(token)
        return
    output.console.print(f"Revoked token {token.id} ({escape(token.name)}) of {escape(token.user)}.")
