"""Item types, lots, batches and cells, their corrections and their history."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, StringConstraints, model_validator

from schemas.common import Contract, Quantity, Reason
from schemas.signatures import SignatureOut

ItemCode = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
]
TypeName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Properties = dict[Annotated[str, StringConstraints(min_length=1, max_length=100)], Any]


class ItemKind(StrEnum):
    lot = "lot"
    batch = "batch"
    cell = "cell"


class ItemStatus(StrEnum):
    quarantined = "quarantined"
    released = "released"
    consumed = "consumed"
    voided = "voided"


class ItemTypeIn(Contract):
    name: TypeName
    kind: ItemKind
    prefix: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]{0,7}$")]
    description: Annotated[str, StringConstraints(max_length=2000)] = ""


class ItemTypeOut(BaseModel):
    name: str
    kind: ItemKind
    prefix: str
    description: str


class LotIn(Contract):
    """A received reagent or part. The code is generated from the type's prefix unless given."""

    type: TypeName
    quantity: Quantity
    code: ItemCode | None = None
    name: ShortText | None = None
    supplier: ShortText | None = None
    catalog_number: ShortText | None = None
    supplier_lot: ShortText | None = None
    received_on: date | None = None
    expires_on: date | None = None
    properties: Properties = {}


class ItemPatch(Contract):
    """A correction: every field given replaces the current value; in `properties`, null removes a key."""

    reason: Reason
    name: ShortText | None = None
    quantity: Quantity | None = None
    supplier: ShortText | None = None
    catalog_number: ShortText | None = None
    supplier_lot: ShortText | None = None
    received_on: date | None = None
    expires_on: date | None = None
    properties: Properties | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> "ItemPatch":
        if not self.model_fields_set - {"reason"}:
            raise ValueError("a correction must change at least one field besides the reason")
        return self


class ItemRef(BaseModel):
    code: str
    kind: ItemKind
    type: str
    name: str | None
    status: ItemStatus


class ItemOut(ItemRef):
    version: int
    quantity: Quantity | None
    remaining: Quantity | None
    supplier: str | None
    catalog_number: str | None
    supplier_lot: str | None
    received_on: date | None
    expires_on: date | None
    properties: dict[str, Any]
    produced_by: int | None
    created_at: datetime
    created_by: str
    updated_at: datetime
    void_reason: str | None
    signatures: list[SignatureOut] | None = None  # on GET /items/{code}; never part of what is signed


class ItemVersion(BaseModel):
    """One version of an item: who made it, when, why, and what changed from the one before."""

    version: int
    action: str
    at: datetime
    by: str
    reason: str | None
    changes: dict[str, dict[str, Any]]
    state: dict[str, Any]
    signatures: list[SignatureOut] = []  # signatures made on this version
