"""The rules of signing: who may sign what with which meaning, and what exactly gets signed."""

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlmodel import Session, col, select

from schemas import Role
from schemas.common import records_by_kind
from schemas.events import canonical_json
from schemas.signatures import Meaning, SignatureIn, SignatureOut
from service.auth.passwords import check_password
from service.auth.tables import User
from service.db import utcnow
from service.errors import Forbidden, NotFound, Unauthorized, problem
from service.signatures.tables import Signature
from service.work import note_event

# Who may sign with each meaning; authorship is checked against the record itself.
MAY_SIGN: dict[Meaning, frozenset[Role]] = {
    Meaning.authored: frozenset({Role.admin, Role.scientist, Role.reviewer}),
    Meaning.reviewed: frozenset({Role.admin, Role.reviewer}),
    Meaning.approved: frozenset({Role.admin, Role.reviewer}),
    Meaning.witnessed: frozenset({Role.admin, Role.scientist, Role.reviewer}),
}


@dataclass(frozen=True)
class Record:
    type: str
    id: str
    version: int | None
    author_id: int
    state: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.type}:{self.id}"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(canonical_json(self.state).encode()).hexdigest()


# How each kind of record that can be signed is read, in the form the API shows it: that is what a signature
# binds. Each domain defines its own (e.g. service/items/signing.py); service.signable names them all.
ReadRecord = Callable[[Session, str], Record]


def load_record(session: Session, ref: str, signable: Mapping[str, ReadRecord]) -> Record:
    kind, _, key = ref.partition(":")
    if kind not in signable:
        raise NotFound(f"no record {ref!r}: only {', '.join(signable)} records are signed")
    return signable[kind](session, key)


def _check_may_sign(user: User, record: Record, meaning: Meaning) -> None:
    role = Role(user.role)
    if role not in MAY_SIGN[meaning]:
        raise Forbidden(
            f"a {role} may not sign as {meaning}",
            [problem("/meaning", "not allowed for your role", got=meaning.value)],
        )
    is_author = user.id == record.author_id
    if meaning == Meaning.authored and not is_author:
        raise Forbidden(
            "only the author of a record signs it as authored", [problem("/meaning", "not the author")]
        )
    if meaning != Meaning.authored and is_author:
        raise Forbidden(
            f"you cannot sign your own record as {meaning}",
            [problem("/meaning", "the signer is the record's author", got=meaning.value)],
        )


def sign(session: Session, user: User, body: SignatureIn, signable: Mapping[str, ReadRecord]) -> Signature:
    if not check_password(body.password, user.password_hash):
        raise Unauthorized("the password does not match: a signature needs the signer's own password")
    record = load_record(session, body.record, signable)
    _check_may_sign(user, record, body.meaning)
    assert user.id is not None
    signature = Signature(
        record_type=record.type,
        record_id=record.id,
        record_version=record.version,
        record_sha256=record.sha256,
        meaning=body.meaning.value,
        signer_id=user.id,
        signer_name=user.full_name,
        signer_role=user.role,
        signed_at=utcnow(),
    )
    session.add(signature)
    session.flush()
    note_event(
        session,
        "signature.created",
        record.type,
        record.id,
        version=record.version,
        data={
            "signature": signature.id,
            "meaning": signature.meaning,
            "record_sha256": record.sha256,
            "signer": user.username,
            "signer_name": user.full_name,
        },
    )
    return signature


def signed_refs(session: Session, refs: list[str]) -> set[str]:
    """Which of these records ("item:CC-0001", ...) carry any signature: one query per kind of record, so a
    caller reads (and hashes) only the records that were signed."""
    signed: set[str] = set()
    for record_type, record_ids in records_by_kind(refs).items():
        rows = session.exec(
            select(Signature.record_id)
            .where(Signature.record_type == record_type, col(Signature.record_id).in_(record_ids))
            .distinct()
        ).all()
        signed |= {f"{record_type}:{record_id}" for record_id in rows}
    return signed


def signatures_of(session: Session, record: Record) -> list[SignatureOut]:
    """The record's signatures, each marked valid only while the record is still what was signed."""
    rows = session.exec(
        select(Signature, User.username)
        .join(User)
        .where(Signature.record_type == record.type, Signature.record_id == record.id)
        .order_by(col(Signature.id))
    ).all()
    return [signature_out(row, username, valid=row.record_sha256 == record.sha256) for row, username in rows]


def signature_out(row: Signature, username: str, *, valid: bool) -> SignatureOut:
    return SignatureOut(
        id=row.id or 0,
        record=f"{row.record_type}:{row.record_id}",
        record_version=row.record_version,
        record_sha256=row.record_sha256,
        meaning=Meaning(row.meaning),
        signer=username,
        signer_name=row.signer_name,
        signer_role=row.signer_role,
        signed_at=row.signed_at,
        valid=valid,
    )


class _Version(Protocol):
    version: int

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Any: ...


Versioned = TypeVar("Versioned", bound=_Version)


def on_versions(session: Session, record: Record, versions: list[Versioned]) -> list[Versioned]:
    """A record's history with each version carrying the signatures made on it."""
    signed = signatures_of(session, record)
    return [
        version.model_copy(update={"signatures": [s for s in signed if s.record_version == version.version]})
        for version in versions
    ]
