"""Every table of the service, imported in one place so SQLModel.metadata (and Alembic) sees them all."""

from sqlmodel import SQLModel

from service.audit.tables import AuditEventRow, AuditHead
from service.auth.tables import Token, User
from service.entries.tables import Entry, EntryAttachment, EntryLink, EntryTag, EntryVersion
from service.idempotency import IdempotentResponse
from service.items.tables import Item, ItemType, ItemVersion
from service.search.tables import SearchDocument
from service.signatures.tables import Signature
from service.steps.tables import ItemLink, Step, StepInput

metadata = SQLModel.metadata

__all__ = [
    "AuditEventRow",
    "AuditHead",
    "Entry",
    "EntryAttachment",
    "EntryLink",
    "EntryTag",
    "EntryVersion",
    "IdempotentResponse",
    "Item",
    "ItemLink",
    "ItemType",
    "ItemVersion",
    "SearchDocument",
    "Signature",
    "Step",
    "StepInput",
    "Token",
    "User",
    "metadata",
]
