"""`cellprov search`: items, lot numbers, step notes and notebook entries, best match first."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from clients.cli import output
from clients.cli.connect import JsonFlag, connected, wants_json

app = typer.Typer()


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[list[str], typer.Argument(help="Words, codes or lot numbers (all must match).")],
    kind: Annotated[str | None, typer.Option(help="Only item, step or entry.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    json_output: JsonFlag = False,
) -> None:
    """Search items, lot numbers, step notes and notebook entries, best match first."""
    with connected(ctx) as client:
        results = client.search(" ".join(query), kind=kind, limit=limit)
    if wants_json(ctx, json_output):
        output.print_json(results)
        return
    if not results.hits:
        output.console.print(f"Nothing matches {escape(results.query)!r}.")
        return
    table = Table("kind", "record", "title", "matched", title=f"search: {escape(results.query)}")
    for hit in results.hits:
        table.add_row(
            hit.kind, output.text(hit.key), output.text(hit.title), _marked(hit.snippet, hit.highlights)
        )
    output.console.print(table)


def _marked(snippet: str, spans: list[tuple[int, int]]) -> str:
    """The snippet as rich markup with its matches in bold, everything else escaped."""
    out, at = [], 0
    for start, end in spans:
        out += [escape(snippet[at:start]), "[bold yellow]", escape(snippet[start:end]), "[/]"]
        at = end
    out.append(escape(snippet[at:]))
    return "".join(out)
