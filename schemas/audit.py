"""The audit trail's shapes (signed checkpoints, Merkle proofs) and checking a checkpoint's signature."""

import base64
import binascii
import hashlib
from datetime import UTC, datetime
from typing import Annotated

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key
from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, field_serializer

CHECKPOINT_FORMAT = "cellprov-audit-checkpoint/v1"

HashHex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def checkpoint_time(timestamp: datetime) -> str:
    """The one text form of a checkpoint time (UTC, microseconds, `Z`), so the signed body and the JSON agree
    byte for byte."""
    return timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Checkpoint(BaseModel):
    """The audit log's size and Merkle root at one moment, signed by the server's Ed25519 key."""

    size: int = Field(ge=0)
    root_hex: HashHex
    timestamp: AwareDatetime
    key_id: str = Field(description="first 8 bytes of SHA-256 over the raw public key, as hex")
    signature_b64: str

    @field_serializer("timestamp")
    def _serialize_timestamp(self, timestamp: datetime) -> str:
        return checkpoint_time(timestamp)

    def signed_body(self) -> bytes:
        """The exact bytes the signature covers: format line, size, root, time, each ending in a newline."""
        lines = [CHECKPOINT_FORMAT, str(self.size), self.root_hex, checkpoint_time(self.timestamp)]
        return "".join(f"{line}\n" for line in lines).encode()


class InclusionProof(BaseModel):
    """PATH(index, D[size]): the leaf at 0-based `index` is in the tree of `size` leaves."""

    index: int = Field(ge=0)
    size: int = Field(ge=1)
    leaf_hash: HashHex
    proof: list[HashHex]


class ConsistencyProof(BaseModel):
    """PROOF(old_size, D[new_size]): the tree of `old_size` leaves is a prefix of the one of `new_size`."""

    old_size: int = Field(ge=0)
    new_size: int = Field(ge=0)
    proof: list[HashHex]


def load_public_key(public_key_pem: str | bytes) -> Ed25519PublicKey:
    """The Ed25519 public key in a PEM text; ValueError if it is not one."""
    data = public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem
    key = load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the checkpoint key is not an Ed25519 public key")
    return key


def checkpoint_key_id(public_key: Ed25519PublicKey) -> str:
    """A short name for the key, so a kept checkpoint says which key signed it even after a key change."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:8].hex()


def verify_checkpoint(checkpoint: Checkpoint, public_key_pem: str | bytes) -> bool:
    """Whether `checkpoint` is signed by the key in `public_key_pem` and names that key.

    A checkpoint that does not verify gives False; a key text that is not an Ed25519 PEM raises ValueError,
    as that is a misconfigured verifier, not a forged checkpoint."""
    public_key = load_public_key(public_key_pem)
    if checkpoint.key_id != checkpoint_key_id(public_key):
        return False
    try:
        signature = base64.b64decode(checkpoint.signature_b64, validate=True)
        public_key.verify(signature, checkpoint.signed_body())
    except (binascii.Error, InvalidSignature):
        return False
    return True
