"""What the command line prints: the consoles, errors, JSON for scripts, and numbers and units for people.

Every command prints through `output.console` / `output.err_console` (looked up when printing), so there is
one place to make them wider or plainer — tests do that.
"""

from __future__ import annotations

import json
import math
import re
import sys
from functools import lru_cache
from typing import Any, NoReturn

import typer
from pydantic import BaseModel, TypeAdapter, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from clients.client import CellprovError
from schemas import Quantity

console = Console()
err_console = Console(stderr=True)


# -- errors ---------------------------------------------------------------------------------------------


def fail(message: str) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(1)


def fail_with_problem(exc: CellprovError, hints: list[str] | None = None) -> NoReturn:
    print_problem(exc, hints)
    raise typer.Exit(1)


def print_problem(exc: CellprovError, hints: list[str] | None = None) -> None:
    """The server's refusal: its title and detail, each problem, and `hints` (e.g. "did you mean")."""
    problem = exc.problem
    headline = f"{exc.status} {problem.title}" + (f": {problem.detail}" if problem.detail else "")
    err_console.print(f"[bold red]error:[/] [red]{escape(headline)}[/]")
    for item in problem.errors:
        err_console.print(
            f"  [red]•[/] [bold]{escape(item.pointer or '(request)')}[/]: {escape(item.detail)}"
        )
    if exc.status == 401:
        err_console.print("  Log in with `cellprov login` (or give a token with --token or CELLPROV_TOKEN).")
    for hint in hints or []:
        err_console.print(f"  [yellow]{escape(hint)}[/]")


def fail_with_validation(exc: ValidationError) -> NoReturn:
    err_console.print("[bold red]error:[/] the request is not valid:")
    for error in exc.errors():
        pointer = "/" + "/".join(str(part) for part in error["loc"])
        err_console.print(f"  [red]•[/] [bold]{escape(pointer)}[/]: {escape(error['msg'])}")
    raise typer.Exit(1)


def print_violations(exc: CellprovError) -> None:
    """A refusal with many problems as a table: where, what, expected, got."""
    problem = exc.problem
    err_console.print(f"[bold red]error:[/] [red]{exc.status} {escape(problem.detail or problem.title)}[/]")
    table = Table("field", "problem", "expected", "got", title="violations")
    for item in problem.errors:
        table.add_row(
            escape(item.pointer), escape(item.detail), text(plain(item.expected)), text(plain(item.got))
        )
    err_console.print(table)


# -- JSON for scripts -------------------------------------------------------------------------------------


def print_json(value: Any) -> None:
    if isinstance(value, BaseModel):
        dumped = value.model_dump_json(indent=2)
    else:
        dumped = TypeAdapter(type(value)).dump_json(value, indent=2).decode()
    # Plain stdout, no rich highlighting or wrapping: this output is for other programs.
    sys.stdout.write(dumped + "\n")


# -- numbers, units and words for people --------------------------------------------------------------------


def number(value: float | None, digits: int = 6) -> str:
    """A measured value as a person writes it: 147.8, not 147.79999999999998; 0.00275, not 2.75e-03."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    magnitude = abs(value)
    if not 1e-4 <= magnitude < 1e9:
        return f"{value:.{digits}g}"
    decimals = max(0, digits - 1 - math.floor(math.log10(magnitude)))
    shown = f"{value:.{decimals}f}"
    return shown.rstrip("0").rstrip(".") if "." in shown else shown


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_POWER = re.compile(r"\s*(?:\*\*|\^)\s*(-?\d+)")
_NAMES = {"degC": "°C", "degree_Celsius": "°C", "degF": "°F", "percent": "%", "ohm": "Ω", "count": "count"}


@lru_cache(maxsize=256)
def unit_text(unit: str) -> str:
    """The unit as printed on a label, spelled as the lab wrote it otherwise: cm², mAh/g, °C, %, mL."""
    shown = _POWER.sub(lambda power: power.group(1).translate(_SUPERSCRIPT), unit.strip())
    shown = re.sub(r"\s*\*\s*", "·", shown)
    return re.sub(r"[A-Za-z_]+", lambda name: _NAMES.get(name.group(), name.group()), shown)


def quantity_text(value: Quantity | dict[str, Any]) -> str:
    if isinstance(value, dict):
        value = Quantity.model_validate(value)
    return f"{number(value.value)} {unit_text(value.unit)}"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """ "1 item", "2 items", "1 analysis", "3 analyses"."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def property_text(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"value", "unit"}:
        return quantity_text(value)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return property_text(value)
    return value


def text(value: object) -> str:
    """Any value as rich-safe text for a table cell or a sentence."""
    if value is None:
        return ""
    if isinstance(value, Quantity):
        return escape(quantity_text(value))
    if isinstance(value, float):
        return number(value)
    return escape(str(value))
