"""What versioned records (items, entries) share: the diff between two states, and the If-Match check."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from service.errors import PreconditionFailed, PreconditionRequired, problem

_NOT_COMPARED = {"version", "updated_at"}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields whose value changed, each as {"old", "new"}; bookkeeping fields are left out."""
    return {
        field: {"old": before.get(field), "new": value}
        for field, value in after.items()
        if field not in _NOT_COMPARED and before.get(field) != value
    }


def check_if_match(record: str, version: int, if_match: str | None) -> None:
    """A correction must name the version it was made against: 428 without If-Match, 412 when stale."""
    if if_match is None:
        raise PreconditionRequired(
            "corrections need If-Match with the ETag of the version you read",
            [problem("header:If-Match", "missing", expected=f'"{version}"')],
        )
    tags = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" not in tags and f'"{version}"' not in tags:
        raise PreconditionFailed(
            f"{record} is at version {version}; read it again and redo the correction",
            [problem("header:If-Match", "stale version", expected=f'"{version}"', got=if_match)],
        )


Shown = TypeVar("Shown", bound=BaseModel)


class StoredVersion(Protocol):
    version: int
    action: str
    at: datetime
    reason: str | None
    state: dict[str, Any]


def listed(rows: Iterable[tuple[StoredVersion, str]], shown: type[Shown]) -> list[Shown]:
    """Stored versions (oldest first, each with its author's username) as the API shows them: each with
    the fields that changed since the one before."""
    versions: list[Shown] = []
    before: dict[str, Any] = {}
    for row, username in rows:
        changes = diff(before, row.state) if before else {}
        versions.append(
            shown(
                version=row.version,
                action=row.action,
                at=row.at,
                by=username,
                reason=row.reason,
                changes=changes,
                state=row.state,
            )
        )
        before = row.state
    return versions
