"""Signed checkpoints of the audit log: the server's Ed25519 key and signing a (size, root) pair."""

import base64
import contextlib
import os
import secrets
import shutil
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from schemas.audit import Checkpoint, checkpoint_key_id, verify_checkpoint

__all__ = [
    "adopt_key_from_file_store",
    "load_or_create_signing_key",
    "public_key_pem",
    "sign_checkpoint",
    "verify_checkpoint",
]


def adopt_key_from_file_store(files_dir: Path, key_file: Path) -> bool:
    """Move the key an install made before the key had its own setting (`<files_dir>/keys/`, inside the
    file store) to `key_file`, unless a key is already there. True when it moved one."""
    legacy = files_dir / "keys" / "audit-checkpoint-ed25519.pem"
    if key_file.exists() or not legacy.exists():
        return False
    key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.move(legacy, key_file)
    with contextlib.suppress(OSError):
        legacy.parent.rmdir()  # only if nothing else was kept there
    return True


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file at `path`, created (mode 0600) on first use.

    Several server processes may start at once: each writes its candidate to a private temporary file and
    hard-links it into place, which fails if another got there first, so all of them sign with the one key
    that ends up on disk."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        candidate = Ed25519PrivateKey.generate()
        pem = candidate.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(pem)
                file.flush()
                os.fsync(file.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink()
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} holds a private key, but not an Ed25519 one")
    return key


def public_key_pem(key: Ed25519PrivateKey) -> str:
    """The public half of `key` as PEM text (SubjectPublicKeyInfo), for clients and auditors to keep."""
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def sign_checkpoint(
    key: Ed25519PrivateKey, size: int, root: bytes, timestamp: datetime | None = None
) -> Checkpoint:
    """A checkpoint for a log of `size` leaves with Merkle root `root`, stamped now unless `timestamp`."""
    unsigned = Checkpoint(
        size=size,
        root_hex=root.hex(),
        timestamp=(timestamp or datetime.now(UTC)).astimezone(UTC),
        key_id=checkpoint_key_id(key.public_key()),
        signature_b64="",
    )
    signature = key.sign(unsigned.signed_body())
    return unsigned.model_copy(update={"signature_b64": base64.b64encode(signature).decode()})
