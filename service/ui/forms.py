"""What the bench forms of /ui share: the posted fields as sent, the form's idempotency key, committing
through the API's own commit_once, and each problem of a refused request placed at its field."""

import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel
from sqlmodel import Session

from schemas import ProblemItem
from service.ui.form_body import Rows, closest_field, nest
from service.ui.pages import check_csrf, templates
from service.work import Actor
from service.writes import commit_once


def listed(value: Any) -> str:
    """An expected or given value as a person reads it: a list as "a, b", a quantity as "2.75 g"."""
    if isinstance(value, list | tuple):
        return ", ".join(listed(v) for v in value)
    if isinstance(value, dict) and set(value) == {"value", "unit"}:
        return (
            f"{value['value']:g} {value['unit']}" if isinstance(value["value"], float | int) else str(value)
        )
    return str(value)


templates.env.filters["listed"] = listed


@dataclass
class Posted:
    """A form as the browser sent it: every (name, value) pair in order."""

    pairs: list[tuple[str, str]]

    def get(self, name: str, default: str = "") -> str:
        found = [value for key, value in self.pairs if key == name]
        return found[-1] if found else default

    @property
    def values(self) -> dict[str, str]:
        return {key: value for key, value in self.pairs}

    def body(self) -> dict[str, Any]:
        return nest(self.pairs)


async def _posted(request: Request) -> Posted:
    form = await request.form()
    return Posted([(key, value) for key, value in form.multi_items() if isinstance(value, str)])


# The route itself stays a plain (threaded) function: only reading the form needs to await.
PostedForm = Annotated[Posted, Depends(_posted)]


def checked(request: Request, form: Posted) -> Posted:
    check_csrf(request, form.get("csrf"))
    return form


def new_key() -> str:
    """The idempotency key a rendered form carries: sent twice (a double click, a reload), it writes once."""
    return secrets.token_urlsafe(18)


def submit(
    request: Request,
    session: Session,
    user: Actor,
    form: Posted,
    payload: BaseModel,
    produce: Callable[[], BaseModel],
    **options: Any,
) -> dict[str, Any]:
    """Commit as the API's route does (commit_once: hooks, audit chain, idempotency), with the form's key;
    returns what the API would have answered."""
    key = form.get("idempotency_key")[:200] or None
    answer = commit_once(request, session, user, payload, produce, key=key, **options)
    shown: dict[str, Any] = json.loads(bytes(answer.body))
    return shown


templates.env.globals["new_key"] = new_key  # each write form on a record's page carries its own


@dataclass
class Placed:
    """A refused request's problems: those at a field of the form, by field name, and the rest."""

    at: dict[str, list[ProblemItem]]
    general: list[ProblemItem]

    @property
    def count(self) -> int:
        return len(self.general) + sum(len(found) for found in self.at.values())


def place(problems: Iterable[ProblemItem], fields: Iterable[str], rows: Rows | None = None) -> Placed:
    known = list(fields)
    placed = Placed({}, [])
    for item in problems:
        name = (rows or Rows()).to_form(item.pointer)
        found = closest_field(name, known) if not item.pointer.startswith("header:") else None
        if found is None:
            placed.general.append(item)
        else:
            placed.at.setdefault(found, []).append(item)
    return placed
