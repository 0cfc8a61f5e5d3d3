"""`cellprov sign RECORD --meaning`: an e-signature on a record as it is now."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from clients.cli import output
from clients.cli.connect import JsonFlag, connected, wants_json
from clients.cli.parse import record_ref

app = typer.Typer()


@app.command()
def sign(
    ctx: typer.Context,
    record: Annotated[
        str, typer.Argument(help='The record: an item code (CC-0001), or "step:12", "entry:3".')
    ],
    meaning: Annotated[str, typer.Option(help="authored, reviewed, approved or witnessed.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, help="Your password (asked for).")],
    json_output: JsonFlag = False,
) -> None:
    """E-sign a record as it is now. Editing it later marks the signature as no longer valid."""
    with connected(ctx) as client:
        signature = client.sign(record_ref(record), meaning, password)
    if wants_json(ctx, json_output):
        output.print_json(signature)
    else:
        output.console.print(
            f"Signed {escape(signature.record)} v{signature.record_version or '-'} as "
            f"[bold]{signature.meaning}[/] by {escape(signature.signer_name)} at "
            f"{signature.signed_at:%Y-%m-%d %H:%M:%S} UTC (sha256 {signature.record_sha256[:16]}…)."
        )
