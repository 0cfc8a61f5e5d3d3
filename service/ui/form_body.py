"""From a browser form to the JSON body the API takes, and back from the API's JSON pointers to form fields.

A form field is named by its path in the body ("inputs.0.amount" is body["inputs"][0]["amount"]), so a
refused request's pointers ("/inputs/0/amount/unit") lead back to the field that holds the value. Rows a
person left empty are dropped before the body is sent; `Rows` remembers where each kept row stood on the form.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The fields a form sends that are not part of the body.
FORM_ONLY = frozenset({"csrf", "action", "idempotency_key"})
MAX_INDEX = 1000  # a row number beyond this is no form's, and is not a list to build


def _index(segment: str) -> int | None:
    return int(segment) if segment.isdigit() and int(segment) <= MAX_INDEX else None


def _as_lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(isinstance(key, int) for key in node):
        return [_as_lists(node[key]) for key in sorted(node)]
    return {key: _as_lists(value) for key, value in node.items()}


def nest(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The nested body of flat fields named by their path; blank values and the form's own fields are left
    out, numbered segments make lists (in the order of their numbers), and the last non-blank value wins."""
    body: dict[Any, Any] = {}
    for name, value in pairs:
        if name in FORM_ONLY or not isinstance(value, str) or not value.strip():
            continue
        keys: list[Any] = [_index(part) if _index(part) is not None else part for part in name.split(".")]
        if any(key == "" for key in keys):
            continue
        node = body
        for key in keys[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
        if not isinstance(node.get(keys[-1]), dict):  # a path with rows below it keeps the rows
            node[keys[-1]] = value.strip()
    nested: dict[str, Any] = _as_lists(body) if body else {}
    return nested if isinstance(nested, dict) else {}


@dataclass
class Rows:
    """Where each row the body kept stood on the form: kept[list name][n] is the form's row number."""

    kept: dict[str, list[int]] = field(default_factory=dict)

    def to_form(self, pointer: str) -> str:
        """A JSON pointer into the body as the name of the form field it points at."""
        parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/") if p]
        if len(parts) > 1 and parts[0] in self.kept and parts[1].isdigit():
            rows = self.kept[parts[0]]
            n = int(parts[1])
            parts[1] = str(rows[n]) if n < len(rows) else parts[1]
        return ".".join(parts)

    def to_body(self, pointer: str) -> str:
        """A pointer written on the form (form row numbers) as a pointer into the body."""
        parts = pointer.lstrip("/").split("/")
        if len(parts) > 1 and parts[0] in self.kept and parts[1].isdigit():
            rows = self.kept[parts[0]]
            if int(parts[1]) in rows:
                parts[1] = str(rows.index(int(parts[1])))
        return "/" + "/".join(parts)


def _blank(row: Any, always_sent: Mapping[str, str]) -> bool:
    """A row holding nothing but what the form always fills in (e.g. an input row's role)."""
    return isinstance(row, dict) and all(key in always_sent for key in row)


def drop_empty_rows(body: dict[str, Any], always_sent: Mapping[str, Iterable[str]]) -> Rows:
    """Drop the rows of `body`'s lists that hold only the fields in `always_sent[list]` (in place), and
    return where the kept rows stood. A deviation's `field`, written with form row numbers, is renumbered."""
    rows = Rows()
    for name, keys in always_sent.items():
        given = body.get(name)
        if not isinstance(given, list):
            continue
        fixed = dict.fromkeys(keys, "")
        rows.kept[name] = [n for n, row in enumerate(given) if not _blank(row, fixed)]
        body[name] = [given[n] for n in rows.kept[name]]
    for deviation in body.get("deviations") or []:
        if isinstance(deviation, dict) and isinstance(deviation.get("field"), str):
            deviation["field"] = rows.to_body(deviation["field"])
    return rows


def closest_field(name: str, fields: Iterable[str]) -> str | None:
    """The form field a problem belongs to: its own, or the nearest one above it ("inputs.0.amount" for a
    problem at "inputs.0.amount.unit"); None when the form has no such field."""
    known = set(fields)
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None
