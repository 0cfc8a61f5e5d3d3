"""Password hashing with scrypt from the standard library (memory-hard, no extra dependency)."""

import hashlib
import hmac
import secrets
from functools import cache

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(candidate.hex(), digest)


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def waste_check(password: str) -> None:
    """Do a password check's work for a user who does not exist, so that an unknown username answers as
    slowly as a wrong password and timing tells nobody which usernames exist."""
    check_password(password, _dummy_hash())
