"""Password and charger-secret hashing (argon2id), and random tokens."""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import re
import secrets as _secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def hash_secret(plain: str) -> str:
    """Salted argon2id hash of a password or charger secret."""
    return _hasher.hash(plain)


# Charger secrets are made by the portal (24 random bytes) or typed strong ones of 16-40 characters (OCPP
# security profile 1/2), so a light scrypt is enough and keeps reconnect storms and bulk onboarding of
# thousands of chargers fast; people's passwords get full argon2id (SECURITY.md says why).
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**10, 8, 1
CHARGER_SECRET_MIN, CHARGER_SECRET_MAX = 16, 40
SECRET_CONFIG_KEY = "AuthorizationKey"  # the OCPP 1.6 configuration key holding the charger's secret
REDACTED = "***"


def is_secret_key(name: object) -> bool:
    """Is this configuration key name the AuthorizationKey? OCPP 1.6 key names are case-insensitive."""
    return isinstance(name, str) and name.strip().casefold() == SECRET_CONFIG_KEY.casefold()


def hide_secret_values(node: object, texts: bool = False) -> object:
    """A copy of decoded JSON with every AuthorizationKey value blanked: a configuration entry
    {"key": "authorizationkey ", "value": ...} keeps its name and loses its value; a field so named too.
    texts: a text naming the key is blanked whole (e.g. a DataTransfer whose data is JSON text)."""
    if texts and isinstance(node, str) and _NAMES_SECRET.search(node) and not is_secret_key(node):
        return REDACTED
    if isinstance(node, list):
        return [hide_secret_values(item, texts) for item in node]
    if isinstance(node, dict):
        if is_secret_key(node.get("key")):
            return {k: (REDACTED if k == "value" else v) for k, v in node.items()}
        return {k: (REDACTED if is_secret_key(k) else hide_secret_values(v, texts)) for k, v in node.items()}
    return node


# In a raw OCPP frame: the key's name in any case; a frame with a JSON escape (\u...) is decoded to be sure.
_NAMES_SECRET = re.compile(r"authorizationkey", re.IGNORECASE)
_MAY_NAME_SECRET = re.compile(r"authorizationkey|\\u", re.IGNORECASE)


def redact_frame(frame: str) -> str:
    """An OCPP frame as it may be stored or shown: AuthorizationKey values blanked, whichever way it went.
    A frame that may name the key but cannot be read (or was cut) is replaced by a note."""
    if not _MAY_NAME_SECRET.search(frame):
        return frame
    try:
        data = json.loads(frame)
    except (ValueError, TypeError):
        if not _NAMES_SECRET.search(frame):
            return frame
        return '"[unreadable frame naming a secret: not stored]"'
    return json.dumps(hide_secret_values(data, texts=True), separators=(",", ":"), ensure_ascii=False)


def charger_secret_problem(secret: str) -> str | None:
    """None when a typed charger secret may be used, else "length" (16-40 bytes) or "weak": it needs at
    least 10 different characters from three of lower case, upper case, digits and other characters, and
    no common pattern. Secrets the portal makes (new_charger_secret) are never checked this way."""
    if not CHARGER_SECRET_MIN <= len(secret.encode()) <= CHARGER_SECRET_MAX:
        return "length"
    from portal.security.passwords import is_weak

    kinds = (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
    variety = sum(any(kind(c) for c in secret) for kind in kinds)
    if len(set(secret)) < 10 or variety < 3 or is_weak(secret):
        return "weak"
    return None


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
    """A fresh charger secret: 24 random bytes (at least the 20 the OCPP 1.6 security whitepaper asks
    for), URL-safe (32 characters)."""
    return _secrets.token_urlsafe(24)


def new_token() -> tuple[str, str]:
    """A random link token and its SHA-256 (the only part stored)."""
    token = _secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
