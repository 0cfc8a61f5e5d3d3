"""`cellprov lot add`: receive a reagent or part lot into the inventory."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from clients.cli import output
from clients.cli.connect import JsonFlag, connected, wants_json
from clients.cli.parse import parse_date, parse_property
from schemas import (
    LotIn,
    Quantity,
)

app = typer.Typer(help="Reagent and part lots: receive them into the inventory.")


@app.command("add")
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
            received_on=parse_date(received_on, "--received-on"),
            expires_on=parse_date(expires_on, "--expires-on"),
            properties=dict(parse_property(text) for text in prop or []),
        )
    except ValidationError as exc:
        output.fail_with_validation(exc)
    with connected(ctx) as client:
        item = client.receive_lot(lot)
    if wants_json(ctx, json_output):
        output.print_json(item)
    else:
        output.console.print(
            f"Received [bold]{item.code}[/]: {output.text(item.type)}, "
            f"{output.text(item.quantity)} ({item.status})."
        )
