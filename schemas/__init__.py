"""The request/response contract of the cellprov API, shared by the service and its clients."""

from schemas.auth import Role, TokenIn, TokenInfo, TokenOut, UserIn, UserOut
from schemas.common import Page, Problem, ProblemItem, Quantity, VoidIn
from schemas.items import (
    ItemKind,
    ItemOut,
    ItemPatch,
    ItemRef,
    ItemStatus,
    ItemTypeIn,
    ItemTypeOut,
    ItemVersion,
    LotIn,
)
from schemas.lineage import Lineage, LineageEdge, LineageNode, Origin, OriginGroup
from schemas.steps import StepIn, StepInputIn, StepInputOut, StepOut, StepOutputIn

__all__ = [
    "ItemKind",
    "ItemOut",
    "ItemPatch",
    "ItemRef",
    "ItemStatus",
    "ItemTypeIn",
    "ItemTypeOut",
    "ItemVersion",
    "Lineage",
    "LineageEdge",
    "LineageNode",
    "LotIn",
    "Origin",
    "OriginGroup",
    "Page",
    "Problem",
    "ProblemItem",
    "Quantity",
    "Role",
    "StepIn",
    "StepInputIn",
    "StepInputOut",
    "StepOut",
    "StepOutputIn",
    "TokenIn",
    "TokenInfo",
    "TokenOut",
    "UserIn",
    "UserOut",
    "VoidIn",
]
