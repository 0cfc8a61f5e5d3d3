"""One problem with a request, as the API reports it (RFC 9457 `errors` entries)."""

from typing import Any

from schemas import ProblemItem


def problem(pointer: str, detail: str, expected: Any = None, got: Any = None) -> ProblemItem:
    return ProblemItem(pointer=pointer, detail=detail, expected=expected, got=got)
