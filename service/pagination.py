"""Keyset pagination: opaque cursors over ids, newest first."""

import base64
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from schemas import Page
from service.db import MAX_ID
from service.errors import Invalid, problem

Out = TypeVar("Out")


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode()


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        last_id = int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except ValueError:
        last_id = 0
    # Ids are positive and within the database's integer range; anything else was not a cursor we gave.
    if not 0 < last_id <= MAX_ID:
        raise Invalid(
            "bad cursor", [problem("query:cursor", "pass back a next_cursor you were given", got=cursor)]
        )
    return last_id


def page_of(rows: Sequence[Any], limit: int, out: Callable[[Any], Out], key: str = "id") -> Page[Out]:
    """`rows` was fetched with limit + 1, so one extra row says whether another page follows; `key` names
    the column the cursor continues from."""
    page = rows[:limit]
    more = len(rows) > limit
    return Page[Out](
        items=[out(row) for row in page], next_cursor=encode_cursor(getattr(page[-1], key)) if more else None
    )
