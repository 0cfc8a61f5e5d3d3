"""Search answers: records ranked by how well they match, each with the matched snippet."""

from pydantic import BaseModel


class SearchHit(BaseModel):
    kind: str  # item, step, entry (test_run and analysis when they exist)
    key: str  # the item code or the record id
    title: str
    status: str | None
    snippet: str  # plain text around the first match
    highlights: list[tuple[int, int]]  # [start, end) of each match inside snippet
    path: str  # the API path of the record, e.g. /items/CC-0001
    score: float


class SearchResults(BaseModel):
    query: str
    terms: list[str]  # the query as the index sees it
    hits: list[SearchHit]
