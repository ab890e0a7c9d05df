"""Password hashing (argon2id) and random bearer secrets stored as ``prefix`` + SHA-256 hash.

A bearer secret looks like ``hgr_<prefix>_<secret>``. The prefix is stored in clear for
lookup; the secret part is high-entropy, so a fast hash (SHA-256) is sufficient and lets every
request verify in microseconds. Comparison is constant-time.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets as _random
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so timing does not reveal it.

    Made on first use: hashing costs ~100 ms, which every CLI start would otherwise pay."""
    return _hasher.hash(_random.token_urlsafe(16))


TOKEN_MARK = "hgr"  # noqa: S105 - the public prefix of bearer strings, not a secret


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return _random.token_urlsafe(15)


@dataclass(frozen=True)
class BearerSecret:
    prefix: str
    secret: str

    @property
    def full(self) -> str:
        return f"{TOKEN_MARK}_{self.prefix}_{self.secret}"

    @property
    def digest(self) -> str:
        return digest(self.secret)


def new_bearer() -> BearerSecret:
    return BearerSecret(prefix=_random.token_hex(6), secret=_random.token_urlsafe(32))


def parse_bearer(value: str) -> BearerSecret | None:
    parts = value.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_MARK or not parts[1] or not parts[2]:
        return None
    return BearerSecret(prefix=parts[1], secret=parts[2])


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def matches(stored_digest: str, secret: str) -> bool:
    return hmac.compare_digest(stored_digest, digest(secret))
