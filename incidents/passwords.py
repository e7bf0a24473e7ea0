"""Password hashing with Argon2id (argon2-cffi defaults: 64 MiB, t=3, p=4)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
MIN_LENGTH = 8


def hash_password(password: str) -> str:
    return str(_hasher.hash(password))


def check_password(stored: str | None, password: str) -> bool:
    if not stored:
        return False
    try:
        return bool(_hasher.verify(stored, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_DUMMY = _hasher.hash("fenghuo: no such account")


def dummy_check(password: str) -> None:
    """The cost of one check, for a login that has no hash to check against."""
    check_password(_DUMMY, password)


def needs_rehash(stored: str) -> bool:
    return bool(_hasher.check_needs_rehash(stored))
