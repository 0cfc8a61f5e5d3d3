"""Checking the server's audit checkpoints and Merkle proofs against checkpoints the client keeps itself."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from schemas.audit import Checkpoint, ConsistencyProof, InclusionProof, verify_checkpoint
from schemas.merkle import leaf_hash, verify_consistency, verify_inclusion


class ProofError(Exception):
    """A checkpoint or proof from the server does not check out; the message says which check failed."""


def check_signature(checkpoint: Checkpoint, public_key_pem: str | bytes) -> None:
    """Raise ProofError unless `checkpoint` carries a valid signature by the key in `public_key_pem`."""
    if not verify_checkpoint(checkpoint, public_key_pem):
        raise ProofError(
            f"the checkpoint of size {checkpoint.size} is not signed by the expected key "
            f"(it names key {checkpoint.key_id})"
        )


def check_consistency(kept: Checkpoint, new: Checkpoint, proof: ConsistencyProof) -> None:
    """Raise ProofError unless `proof` shows that the log at `kept` is a prefix of the log at `new`,
    i.e. nothing the client saw before was changed, removed or reordered."""
    if new.size < kept.size:
        raise ProofError(f"the log shrank: kept checkpoint has {kept.size} events, the new one {new.size}")
    if (proof.old_size, proof.new_size) != (kept.size, new.size):
        raise ProofError(
            f"the consistency proof is for sizes {proof.old_size}→{proof.new_size}, "
            f"not {kept.size}→{new.size}"
        )
    if not verify_consistency(
        kept.size,
        new.size,
        bytes.fromhex(kept.root_hex),
        bytes.fromhex(new.root_hex),
        [bytes.fromhex(node) for node in proof.proof],
    ):
        raise ProofError(
            f"the log at {new.size} events is not an extension of the kept checkpoint at {kept.size} events"
        )


def check_inclusion(leaf: bytes, proof: InclusionProof, checkpoint: Checkpoint) -> None:
    """Raise ProofError unless `proof` shows the leaf whose data is `leaf` at `proof.index` in the log
    that `checkpoint` signs. The leaf hash is computed here, never taken from the server."""
    own_hash = leaf_hash(leaf)
    if proof.leaf_hash != own_hash.hex():
        raise ProofError(f"the inclusion proof is for another leaf than the one at index {proof.index}")
    if proof.size != checkpoint.size:
        raise ProofError(
            f"the inclusion proof is for size {proof.size}, the checkpoint for {checkpoint.size}"
        )
    if not verify_inclusion(
        own_hash,
        proof.index,
        proof.size,
        [bytes.fromhex(node) for node in proof.proof],
        bytes.fromhex(checkpoint.root_hex),
    ):
        raise ProofError(f"the leaf is not at index {proof.index} of the log at {checkpoint.size} events")


def read_kept_checkpoints(path: Path) -> list[Checkpoint]:
    """The checkpoints kept in the JSON-lines file at `path`, oldest first; none if it does not exist."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    kept = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            kept.append(Checkpoint.model_validate_json(line))
        except ValidationError as exc:
            raise ValueError(f"{path}:{number}: not a checkpoint: {exc}") from exc
    return kept


def keep_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Append `checkpoint` to the JSON-lines file at `path`, flushed to disk before returning."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        file.write(checkpoint.model_dump_json() + "\n")
        file.flush()
        os.fsync(file.fileno())


def accept_checkpoint(
    path: Path, new: Checkpoint, proof: ConsistencyProof | None, public_key_pem: str | bytes
) -> Checkpoint | None:
    """Check `new` (signature, then consistency with the last checkpoint kept at `path`) and keep it if the
    log grew. Returns the kept checkpoint it was checked against (None on first use, when there is
    nothing to check against and `new` is trusted as the starting point). Raises ProofError."""
    check_signature(new, public_key_pem)
    kept = read_kept_checkpoints(path)
    last = kept[-1] if kept else None
    if last is not None:
        if proof is None:
            raise ProofError(f"a consistency proof from size {last.size} to {new.size} is needed")
        check_consistency(last, new, proof)
    if last is None or new.size > last.size:
        keep_checkpoint(path, new)
    return last
