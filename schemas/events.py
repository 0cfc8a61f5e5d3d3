"""Audit events and the hash chain that links them: shared so a client can verify an export offline."""

import hashlib
import json
import re
from datetime import datetime
from typing import Any

import orjson
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


# orjson writes floats below 1e-4 differently from Python's repr (0.00001 for 1e-05, 1e-7 for 1e-07), and
# every hash since the first event was taken over Python's text; such a float, or anything orjson refuses
# (integers past 64 bits, keys that are not strings), is written by the json module instead. The pattern
# (a digit, then "e-"; or "0.0000") can also match inside a string: that costs the slower path, never a
# different text. A plain "e-" would match half the lab's names ("nh2-mil-101-fe-hydrothermal").
_ORJSON_DIFFERS = re.compile(rb"[0-9]e-|0\.0000")


def canonical_json(value: Any) -> str:
    """One byte string per value: sorted keys, no spaces, UTF-8 kept as is; Python's json text, byte for
    byte, made by orjson (ten times faster) wherever the two agree."""
    try:
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        text = b"0e-"  # whatever orjson cannot write, the json module decides about
    if _ORJSON_DIFFERS.search(text) is None:
        return text.decode()
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def timestamp_text(at: datetime) -> str:
    """The one text form of a time inside hashes and CSV exports: UTC with microseconds."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_text(fields: dict[str, Any]) -> str:
    """The exact text an event's hash is taken over: every field but the hash, prev_hash included."""
    fields = dict(fields)
    fields.pop("hash", None)
    at = fields["at"]
    fields["at"] = timestamp_text(at) if isinstance(at, datetime) else at
    return canonical_json(fields)


def event_hash(event: AuditEvent | dict[str, Any]) -> str:
    """SHA-256 over the event's canonical JSON."""
    fields = event.model_dump() if isinstance(event, AuditEvent) else event
    return hashlib.sha256(canonical_text(fields).encode()).hexdigest()


# An export line is the canonical text with the hash appended as its last key:
#     {"action":…,"prev_hash":"…","reason":…,"request_id":…,"seq":7,"hash":"<64 hex>"}
# so the hashed bytes are the line minus HASH_TAIL, plus "}": a verifier needs no JSON parser. Keys are
# sorted, so prev_hash is followed only by reason and request_id (a string or null) and seq, which ends the
# text. A quote inside a JSON string is always escaped, so those strings cannot hold '"prev_hash":"': its
# last occurrence in the text is the event's own (data, before it, may well hold such a key).
LINE_START = b'{"action":'
HASH_KEY = b',"hash":"'
HASH_TAIL = len(HASH_KEY) + 64 + len(b'"}\n')
PREV_KEY = b'"prev_hash":"'
RUN = 256  # lines checked together


def export_line(text: str, hash: str) -> str:
    """One JSON line of an export: the hashed text verbatim, its hash appended as the last key."""
    return f'{text[:-1]},"hash":"{hash}"}}\n'


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
        self.link(event.seq, event.prev_hash, event.hash, event_hash(event))

    def add_line(self, line: bytes) -> None:
        """One line of a JSON-lines export: read by position if it is in the hashed form, else parsed (older
        exports wrote each event as its model's JSON)."""
        line = line.rstrip(b"\r\n")
        if not line.strip():
            return
        body, tail = line[: -(HASH_TAIL - 1)], line[-(HASH_TAIL - 1) :]
        if not (body.startswith(LINE_START) and tail.startswith(HASH_KEY) and tail.endswith(b'"}')):
            self.add(AuditEvent.model_validate_json(line))
            return
        at = body.rfind(PREV_KEY) + len(PREV_KEY)
        seq = int(body[body.rfind(b":") + 1 :])
        hashed = hashlib.sha256(body + b"}").hexdigest()
        self.link(seq, body[at : at + 64].decode(), tail[len(HASH_KEY) : -2].decode(), hashed)

    def add_lines(self, lines: list[bytes]) -> None:
        """Many export lines at once. The common case, an intact run of lines in the hashed form, is checked
        with a few operations per line and the comparisons done on whole joined runs; anything else goes
        line by line through add_line, which names the first bad event."""
        for start in range(0, len(lines), RUN):
            run = lines[start : start + RUN]
            if self.bad is None and not self._add_intact(run):
                for line in run:
                    self.add_line(line)

    def _add_intact(self, lines: list[bytes]) -> bool:
        # Comprehensions over a short run, not a loop with appends over all lines: per line, the
        # interpreter's overhead is of the order of SHA-256 itself, and a short run stays in the CPU's cache.
        sha256, tail, prev_key = hashlib.sha256, HASH_TAIL, PREV_KEY
        hashes = [sha256(line[:-tail] + b"}").hexdigest() for line in lines]
        # Each line's end, from its seq on: 'seq,"hash":"<hash>"}\n'
        ends = b"".join([line[line.rfind(b":", 0, -tail) + 1 :] for line in lines])
        prevs = b"".join([line[(at := line.rfind(prev_key) + len(prev_key)) : at + 64] for line in lines])
        first = self.size + 1
        seqs = range(first, first + len(lines))
        expected_ends = [f'{seq},"hash":"{hash}"}}\n' for seq, hash in zip(seqs, hashes, strict=True)]
        intact = (
            bool(hashes)
            and (
                # each line has the next sequence number and ends with the hash of its text ...
                ends == "".join(expected_ends).encode()
                # ... and names the one before it.
                and prevs == (self.head + "".join(hashes[:-1])).encode()
            )
        )
        if intact:
            self.size, self.head = seqs[-1], hashes[-1]
        return intact

    def link(self, seq: int, prev_hash: str, stated_hash: str, hashed: str) -> None:
        """One event: its sequence number, the hash it names as its predecessor's, the hash it states, and
        the hash of its content as recomputed here."""
        if self.bad is not None:
            return
        expected = self.size + 1
        if seq != expected:
            self._fail(expected, f"expected event {expected}, found {seq}: events missing or reordered")
        elif prev_hash != self.head:
            self._fail(seq, "prev_hash does not match the event before it")
        elif hashed != stated_hash:
            self._fail(seq, "the event's content does not match its hash: it was altered")
        else:
            self.size, self.head = seq, stated_hash

    def confirmed(self, last_seq: int, last_hash: str) -> None:
        """The events after the last one seen, up to `last_seq`, were checked elsewhere (by the database,
        with the same rules as `link`): move on to the end of them."""
        if self.bad is None:
            self.size, self.head = last_seq, last_hash

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
