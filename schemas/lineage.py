"""Lineage answers: the graph around an item, and its nearest origin of each type."""

from typing import Literal

from pydantic import BaseModel

from schemas.entries import EntryRef
from schemas.items import ItemKind, ItemStatus


class LineageNode(BaseModel):
    code: str
    kind: ItemKind
    type: str
    name: str | None
    status: ItemStatus
    depth: int


class LineageEdge(BaseModel):
    """`source` was an input of step `step`, which made `target`."""

    source: str
    target: str
    step: int
    protocol: str
    role: str
    deviating: bool = False


class LineageTest(BaseModel):
    """A test run of a listed item."""

    id: int
    item: str
    protocol: str
    status: str


class LineageInstrument(BaseModel):
    """An instrument a listed step was done with (the glovebox of an assembly), in its template's role."""

    step: int
    role: str
    instrument: str
    kind: str
    calibration_state: str


class LineageAnalysis(BaseModel):
    """An analysis describing one or more listed items (listed once per item)."""

    id: int
    item: str
    technique: str
    title: str


LineageParts = Literal["all", "nodes"]


class Lineage(BaseModel):
    root: str
    direction: Literal["up", "down"]
    max_depth: int | None
    # "nodes": only the items were asked for (a recall's list of cells); edges, tests, analyses and entries
    # are then empty because they were not looked up, not because there are none.
    include: LineageParts = "all"
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    tests: list[LineageTest] = []
    analyses: list[LineageAnalysis] = []
    instruments: list[LineageInstrument] = []
    # Notebook entries linked to the listed items, by item code (items without entries are left out).
    entries: dict[str, list[EntryRef]] = {}


class OriginGroup(BaseModel):
    type: str
    depth: int
    items: list[LineageNode]


class Origin(BaseModel):
    """For each item type upstream of `root`, the nearest ancestors of that type."""

    root: str
    origins: list[OriginGroup]
