"""Every table of the service, imported in one place so SQLModel.metadata (and Alembic) sees them all."""

from sqlmodel import SQLModel

from service.audit.tables import AuditEventRow, AuditHead
from service.auth.tables import AuthFailure, Token, User
from service.idempotency import IdempotentResponse
from service.items.tables import Item, ItemType, ItemVersion
from service.signatures.tables import Signature
from service.steps.tables import ItemLink, Step, StepInput

metadata = SQLModel.metadata

__all__ = [
    "AuditEventRow",
    "AuditHead",
    "AuthFailure",
    "IdempotentResponse",
    "Item",
    "ItemLink",
    "ItemType",
    "ItemVersion",
    "Signature",
    "Step",
    "StepInput",
    "Token",
    "User",
    "metadata",
]
