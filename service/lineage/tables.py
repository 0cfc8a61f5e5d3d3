"""The ancestry closure: each (ancestor, descendant) pair at its shortest distance."""

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class ItemAncestry(SQLModel, table=True):
    """Derived from item_links when a step is written, so "every cell from this lot" is one indexed range
    read instead of a graph walk at query time. Outputs are always new items, so a step only ever adds
    pairs for its own outputs, and voiding it removes just those."""

    __tablename__ = "item_ancestry"
    __table_args__ = (Index("ix_item_ancestry_ancestor", "ancestor_id", "depth", "descendant_id"),)

    descendant_id: int = Field(foreign_key="items.id", primary_key=True)
    ancestor_id: int = Field(foreign_key="items.id", primary_key=True)
    depth: int
