"""Tables of steps, their inputs, and the item-to-item links lineage walks."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Text
from sqlmodel import Column, Field, SQLModel

from service.db import UtcDateTime


class Step(SQLModel, table=True):
    __tablename__ = "steps"

    id: int | None = Field(default=None, primary_key=True)
    protocol: str = Field(max_length=110, index=True)
    status: str = Field(max_length=16, index=True)
    operator_id: int = Field(foreign_key="users.id", index=True)
    started_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    parameters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    notes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    void_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    voided_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    # The template version the protocol names (null only for steps logged before templates existed).
    template_id: int | None = Field(default=None, foreign_key="templates.id", index=True)
    # Out-of-range values accepted with a written justification: [{field, justification, expected, got}].
    deviating: bool = Field(default=False, index=True)
    deviations: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Each quantity in the template's unit, by JSON pointer; and the template's checks and derived values.
    normalized: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    computed: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class StepInput(SQLModel, table=True):
    __tablename__ = "step_inputs"

    id: int | None = Field(default=None, primary_key=True)
    step_id: int = Field(foreign_key="steps.id", index=True)
    item_id: int = Field(foreign_key="items.id", index=True)
    role: str = Field(max_length=64)
    amount_value: float | None = None
    amount_unit: str | None = Field(default=None, max_length=64)
    # The amount converted to the item's own unit: what was taken off its remaining quantity.
    consumed_value: float | None = None


class ItemLink(SQLModel, table=True):
    """parent was an input of step, which made child: the edge list the lineage CTEs walk.

    Derived from steps when they are logged; `active` turns false when the step is voided, so a step
    recorded by mistake stops showing in lineage while its record stays.
    """

    __tablename__ = "item_links"
    __table_args__ = (
        Index("ix_item_links_child_parent", "child_id", "parent_id"),
        Index("ix_item_links_parent_child", "parent_id", "child_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    parent_id: int = Field(foreign_key="items.id")
    child_id: int = Field(foreign_key="items.id")
    step_id: int = Field(foreign_key="steps.id", index=True)
    role: str = Field(max_length=64)
    active: bool = True
