"""Password and charger-secret hashing (argon2id), and random tokens."""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets as _secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def hash_secret(plain: str) -> str:
    """Salted argon2id hash of a password or charger secret."""
    return _hasher.hash(plain)


# Charger secrets are 16-40 random bytes (OCPP security profile 1/2), so a light scrypt is enough and
# keeps bulk onboarding of thousands of chargers fast; people's passwords get full argon2id.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**10, 8, 1
CHARGER_SECRET_MIN, CHARGER_SECRET_MAX = 16, 40


def hash_charger_secret(plain: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(plain.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def _verify_scrypt(stored_hash: str, plain: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored_hash.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            plain.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def verify_secret(stored_hash: str, plain: str) -> bool:
    """True when plain matches the stored hash (argon2id or scrypt); never raises for a bad hash."""
    if not stored_hash or plain is None:
        return False
    if stored_hash.startswith("scrypt$"):
        return _verify_scrypt(stored_hash, plain)
    try:
        return _hasher.verify(stored_hash, plain)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(_secrets.token_urlsafe(16))


def verify_unknown_account(plain: str) -> bool:
    """Spend the same argon2 time as a real check, so log-in timing does not reveal which accounts exist."""
    verify_secret(_dummy_hash(), plain or "")
    return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def new_charger_secret() -> str:
    """A fresh charger secret: 24 random bytes, URL-safe (32 characters)."""
    return _secrets.token_urlsafe(24)


def new_token() -> tuple[str, str]:
    """A random link token and its SHA-256 (the only part stored)."""
    token = _secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
