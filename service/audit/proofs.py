"""Signed checkpoints of the audit trail and Merkle proofs over it; each event's leaf is its chain hash."""

from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlmodel import Session, col

from schemas.audit import Checkpoint, ConsistencyProof, InclusionProof
from service.audit import merkle
from service.audit.checkpoint import (
    load_or_create_signing_key,
    public_key_pem,
    sign_checkpoint,
)
from service.audit.logic import head
from service.audit.tables import AuditEventRow
from service.errors import Invalid, problem


@cache
def signing_key(key_file: Path) -> Ed25519PrivateKey:
    return load_or_create_signing_key(key_file)


def public_key(key_file: Path) -> str:
    return public_key_pem(signing_key(key_file))


def leaves(session: Session, size: int) -> list[bytes]:
    """The first `size` leaves. An event's hash already covers its content and everything before it."""
    hashes = session.execute(
        select(col(AuditEventRow.hash)).where(col(AuditEventRow.seq) <= size).order_by(col(AuditEventRow.seq))
    ).scalars()
    return [bytes.fromhex(h) for h in hashes]


def checkpoint(session: Session, key_file: Path) -> Checkpoint:
    size, _ = head(session)
    return sign_checkpoint(signing_key(key_file), size, merkle.root(leaves(session, size)))


def _size(session: Session, size: int | None, name: str) -> int:
    current, _ = head(session)
    if size is None:
        return current
    if not 0 <= size <= current:
        raise Invalid(
            f"the trail holds {current} events",
            [problem(f"query:{name}", "out of range", expected=f"0..{current}", got=size)],
        )
    return size


def inclusion(session: Session, seq: int, size: int | None) -> InclusionProof:
    tree_size = _size(session, size, "size")
    if not 1 <= seq <= tree_size:
        raise Invalid(
            "no such event in that tree",
            [problem("query:seq", "out of range", expected=f"1..{tree_size}", got=seq)],
        )
    data = leaves(session, tree_size)
    return InclusionProof(
        index=seq - 1,
        size=tree_size,
        leaf_hash=merkle.leaf_hash(data[seq - 1]).hex(),
        proof=[node.hex() for node in merkle.inclusion_proof(seq - 1, data)],
    )


def consistency(session: Session, old: int, new: int | None) -> ConsistencyProof:
    new_size = _size(session, new, "new")
    if not 0 <= old <= new_size:
        raise Invalid(
            "old must not exceed new",
            [problem("query:old", "out of range", expected=f"0..{new_size}", got=old)],
        )
    proof = merkle.consistency_proof(old, leaves(session, new_size))
    return ConsistencyProof(old_size=old, new_size=new_size, proof=[node.hex() for node in proof])
