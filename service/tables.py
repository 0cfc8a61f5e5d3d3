"""Every table of the service, imported in one place so SQLModel.metadata (and Alembic) sees them all."""

from sqlmodel import SQLModel

from service.analyses.tables import Analysis, AnalysisFile, AnalysisSubject
from service.auth.tables import Token, User
from service.cycling.tables import TestCycle, TestRun
from service.files.tables import StoredFile
from service.idempotency import IdempotentResponse
from service.items.tables import Item, ItemType, ItemVersion
from service.steps.tables import ItemLink, Step, StepInput

metadata = SQLModel.metadata

__all__ = [
    "Analysis",
    "AnalysisFile",
    "AnalysisSubject",
    "IdempotentResponse",
    "Item",
    "ItemLink",
    "ItemType",
    "ItemVersion",
    "Step",
    "StepInput",
    "StoredFile",
    "TestCycle",
    "TestRun",
    "Token",
    "User",
    "metadata",
]
