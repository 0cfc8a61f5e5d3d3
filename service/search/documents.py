"""What a kind of record offers to search: its documents. Each domain defines its SearchSource in its own
folder (service/items/search.py, service/steps/search.py, ...) and service.app hands them all to the index;
search itself knows no domain."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlmodel import Session


@dataclass(frozen=True)
class Document:
    """The searchable text of one record."""

    kind: str
    key: str
    title: str
    status: str | None
    text: str


# The documents of these records (by key), None for one that no longer exists; read in as few queries as
# the domain can manage, since a step or an import re-indexes many records at once.
ReadDocuments = Callable[[Session, Sequence[str]], Mapping[str, Document | None]]


@dataclass(frozen=True)
class SearchSource:
    kind: str
    """The audit trail's entity type of these records: a change to one is noted under it, and re-indexed."""
    api_path: str
    """Where a hit is read in the API, e.g. "/items/{key}"."""
    documents: ReadDocuments
    keys: Callable[[Session], Iterable[str]]
    """Every record of this kind, for rebuilding the index."""


def one_by_one(read: Callable[[Session, str], Document | None]) -> ReadDocuments:
    """A source whose records are read one at a time (few change per transaction)."""
    return lambda session, keys: {key: read(session, key) for key in keys}


def numeric_keys(keys: Sequence[str]) -> list[int]:
    """The keys that can be ids of a table (a key from a URL may be anything)."""
    return [int(key) for key in keys if key.isdigit() and len(key) < 10]


def lines(*parts: object) -> str:
    return "\n".join(str(part) for part in parts if part not in (None, "", [], {}))


def properties_text(properties: Mapping[str, object]) -> str:
    shown = []
    for name, value in properties.items():
        if isinstance(value, dict) and {"value", "unit"} <= set(value):
            value = f"{value['value']} {value['unit']}"
        shown.append(f"{name}: {value}")
    return "; ".join(shown)
