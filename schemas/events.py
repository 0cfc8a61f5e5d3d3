"""Audit events and the hash chain that links them: shared so a client can verify an export offline."""

import hashlib
import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel

GENESIS_HASH = "0" * 64


class AuditEvent(BaseModel):
    """One change, as recorded: who (from the token), when (server UTC), what, why, and the chain link."""

    seq: int
    at: datetime
    actor_id: int | None
    actor_name: str | None
    actor_role: str | None
    action: str
    entity_type: str
    entity_id: str
    entity_version: int | None
    data: Any = None
    changes: dict[str, Any] | None = None
    reason: str | None
    request_id: str | None
    prev_hash: str
    hash: str


def canonical_json(value: Any) -> str:
    """One byte string per value: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def timestamp_text(at: datetime) -> str:
    """The one text form of a time inside hashes and CSV exports: UTC with microseconds."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(event: AuditEvent | dict[str, Any]) -> str:
    """SHA-256 over the event's canonical JSON, every field but the hash itself, prev_hash included."""
    fields = event.model_dump() if isinstance(event, AuditEvent) else dict(event)
    fields.pop("hash", None)
    at = fields["at"]
    fields["at"] = timestamp_text(at) if isinstance(at, datetime) else at
    return hashlib.sha256(canonical_json(fields).encode()).hexdigest()


class ChainCheck(BaseModel):
    """The result of recomputing a chain: ok, or the first sequence number where it breaks and why."""

    ok: bool
    size: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None


class ChainVerifier:
    """Feed events in order; it stops trusting at the first gap, broken link or altered event."""

    def __init__(self) -> None:
        self.size = 0
        self.head = GENESIS_HASH
        self.bad: ChainCheck | None = None

    def add(self, event: AuditEvent) -> None:
        if self.bad is not None:
            return
        expected = self.size + 1
        if event.seq != expected:
            self._fail(expected, f"expected event {expected}, found {event.seq}: events missing or reordered")
        elif event.prev_hash != self.head:
            self._fail(event.seq, "prev_hash does not match the event before it")
        elif event_hash(event) != event.hash:
            self._fail(event.seq, "the event's content does not match its hash: it was altered")
        else:
            self.size, self.head = event.seq, event.hash

    def _fail(self, seq: int, problem: str) -> None:
        self.bad = ChainCheck(
            ok=False, size=self.size, head_hash=self.head, first_bad_seq=seq, problem=problem
        )

    def result(self, expected_size: int | None = None, expected_head: str | None = None) -> ChainCheck:
        if self.bad is not None:
            return self.bad
        if expected_size is not None and expected_size != self.size:
            return ChainCheck(
                ok=False,
                size=self.size,
                head_hash=self.head,
                first_bad_seq=self.size + 1,
                problem=f"the chain should hold {expected_size} events but holds {self.size}",
            )
        if expected_head is not None and expected_head != self.head:
            return ChainCheck(
                ok=False,
                size=self.size,
                head_hash=self.head,
                first_bad_seq=self.size,
                problem="the last event's hash is not the recorded head",
            )
        return ChainCheck(ok=True, size=self.size, head_hash=self.head)


class ExportManifest(BaseModel):
    """The last line of an export: what a complete, untouched file must add up to."""

    count: int
    head_hash: str
    exported_at: datetime
    exported_by: str
