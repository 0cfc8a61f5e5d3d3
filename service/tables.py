"""Every table of the service, imported in one place so SQLModel.metadata (and Alembic) sees them all."""

from sqlmodel import SQLModel

from service.auth.tables import Token, User
from service.idempotency import IdempotentResponse
from service.items.tables import Item, ItemType, ItemVersion
from service.steps.tables import ItemLink, Step, StepInput
from service.templates.tables import Template

metadata = SQLModel.metadata

__all__ = [
    "IdempotentResponse",
    "Item",
    "ItemLink",
    "ItemType",
    "ItemVersion",
    "Step",
    "StepInput",
    "Template",
    "Token",
    "User",
    "metadata",
]
