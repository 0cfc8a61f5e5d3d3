"""Turning text into search terms, identically for the index and the query, on either database.

Both full-text engines only ever see our terms (lower-case letters and digits, space-separated), so SQLite's
FTS5 and PostgreSQL's tsvector index exactly the same words: the engines' own tokenisers disagree about codes
like `CC-0001` (PostgreSQL reads `-0001` as a negative number). A compound such as `CC-0001`, `FeCl3·6H2O`
or `LIC-240918-2` is indexed as its parts and as the parts joined (`cc0001`), so typing the whole code finds
exactly it, and typing a part finds it too.
"""

import re
import unicodedata
from functools import lru_cache

_COMPOUND = re.compile(r"[^\W_]+(?:[-._/·:+][^\W_]+)*")
_WORD = re.compile(r"[^\W_]+")
MAX_QUERY_TERMS = 12


def fold(text: str) -> str:
    """Compatibility forms unified (₂ → 2, µ → μ), accents dropped, case folded."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


@lru_cache(maxsize=16384)
def _tokens_of(span: str) -> tuple[str, ...]:
    # Kept: the same codes, types and role names recur in thousands of documents.
    words = _WORD.findall(fold(span))
    return tuple(words) if len(words) == 1 else (*words, "".join(words))


def index_terms(text: str) -> list[str]:
    """Every term of `text` once, in first-seen order: words, and each compound joined."""
    seen: dict[str, None] = {}
    for match in _COMPOUND.finditer(text):
        for token in _tokens_of(match.group()):
            seen.setdefault(token, None)
    return list(seen)


def query_terms(query: str) -> list[str]:
    """What a query looks for: a compound as a whole (`CC-0001` → `cc0001`), other words as they are."""
    seen: dict[str, None] = {}
    for match in _COMPOUND.finditer(query):
        seen.setdefault("".join(_WORD.findall(fold(match.group()))), None)
    return [term for term in seen if term][:MAX_QUERY_TERMS]


def matches(span: str, terms: list[str]) -> bool:
    """Whether a compound of the text matches a query term (as a prefix of one of its terms)."""
    return any(token.startswith(term) for token in _tokens_of(span) for term in terms)


def highlights(text: str, terms: list[str]) -> list[tuple[int, int]]:
    return [m.span() for m in _COMPOUND.finditer(text) if matches(m.group(), terms)]


def snippet(text: str, terms: list[str], width: int = 180) -> tuple[str, list[tuple[int, int]]]:
    """A window of `text` around its first match, and where the matches are inside that window."""
    flat = " ".join(text.split())
    spans = highlights(flat, terms)
    if not spans:
        cut = flat[:width]
        return (cut + "…" if len(flat) > width else cut), []
    first = spans[0][0]
    start = max(0, first - width // 3)
    if start:
        space = flat.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and first - space < width // 2 else start
    end = min(len(flat), start + width)
    if end < len(flat):
        space = flat.rfind(" ", start, end)
        end = space if space > first else end
    prefix = "…" if start else ""
    window = prefix + flat[start:end] + ("…" if end < len(flat) else "")
    shift = len(prefix) - start
    inside = [(a + shift, b + shift) for a, b in spans if a >= start and b <= end]
    return window, inside
