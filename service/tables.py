"""Every table of the service, imported in one place so SQLModel.metadata (and Alembic) sees them all."""

from sqlmodel import SQLModel

from service.analyses.tables import Analysis, AnalysisFile, AnalysisSubject
from service.audit.tables import AuditEventRow, AuditHead
from service.auth.tables import AuthFailure, Token, User
from service.cycling.tables import TestCycle, TestRun
from service.entries.tables import Entry, EntryAttachment, EntryLink, EntryTag, EntryVersion
from service.files.tables import StoredFile
from service.idempotency import IdempotentResponse
from service.instruments.tables import Calibration, Channel, ChannelLoad, Instrument, InstrumentUse
from service.items.tables import Item, ItemType, ItemVersion
from service.lineage.tables import ItemAncestry
from service.search.tables import SearchDocument
from service.signatures.tables import Signature
from service.steps.tables import ItemLink, Step, StepInput
from service.templates.tables import Template

metadata = SQLModel.metadata

__all__ = [
    "Analysis",
    "AnalysisFile",
    "AnalysisSubject",
    "AuditEventRow",
    "AuditHead",
    "AuthFailure",
    "Calibration",
    "Channel",
    "ChannelLoad",
    "Entry",
    "EntryAttachment",
    "EntryLink",
    "EntryTag",
    "EntryVersion",
    "IdempotentResponse",
    "Instrument",
    "InstrumentUse",
    "Item",
    "ItemAncestry",
    "ItemLink",
    "ItemType",
    "ItemVersion",
    "SearchDocument",
    "Signature",
    "Step",
    "StepInput",
    "StoredFile",
    "Template",
    "TestCycle",
    "TestRun",
    "Token",
    "User",
    "metadata",
]
