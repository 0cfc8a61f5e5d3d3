"""Command-line text into request values: dates, key=value properties, template references."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import typer
from pydantic import ValidationError

from schemas import Quantity


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date like 2025-01-31", param_hint=option) from None


def parse_property(text: str) -> tuple[str, Any]:
    """`key=value`: the value is JSON if it parses (numbers, true, null …), a quantity if it reads like
    one ("99.9 percent"), else a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise typer.BadParameter(f"{text!r} is not key=value", param_hint="--prop")
    raw = raw.strip()
    try:
        return key.strip(), json.loads(raw)
    except ValueError:
        pass
    try:
        return key.strip(), Quantity.model_validate(raw).model_dump()
    except ValidationError:
        return key.strip(), raw


def split_ref(ref: str) -> tuple[str, int | None]:
    """`name@3` → ("name", 3); `name` → ("name", None): the latest published version."""
    name, _, version = ref.partition("@")
    if version and not version.isdigit():
        raise typer.BadParameter(f"{ref!r} is not name or name@version", param_hint="TEMPLATE")
    return name, int(version) if version else None


def record_ref(code: str) -> str:
    """`CC-0001` is an item; other records are written out, e.g. `step:12`, `entry:3`."""
    return code if ":" in code else f"item:{code}"
