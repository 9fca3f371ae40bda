"""Account operations without Flask: registration, password changes, password-reset tokens.

Reset tokens are signed (itsdangerous) and carry the user id plus a fingerprint of the current
password hash: they expire after ``RESET_MAX_AGE_S`` and stop working as soon as the password
changes, so each link works once. Nothing is stored for them.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import User
from portal.security.passwords import PASSWORD_MAX, PASSWORD_MIN  # noqa: F401 - the forms import them here
from portal.services.sites.onboarding import create_user, find_user
from portal.services.people.secrets import hash_secret

RESET_MAX_AGE_S = 3600
RESET_SALT = "portal.password-reset"
VERIFY_MAX_AGE_S = 24 * 3600  # a password form for whoever holds the link: one day, then register again
VERIFY_SALT = "portal.verify-email"


class EmailTaken(ValueError):
    """An account with this e-mail address exists already."""


def register_user(session: Session, *, email: str, password: str, name: str = "", language: str = "nb") -> User:
    """A new resident account, unverified until its e-mailed link is opened (no site access until an
    invite is accepted); flush only."""
    if find_user(session, email) is not None:
        raise EmailTaken(email)
    return create_user(session, email, password, name=name.strip(), language=language, verified=False)


def restart_registration(user: User, *, password: str, name: str, language: str) -> None:
    """Someone registers an address that never confirmed: the newest attempt's details count, and every
    earlier confirmation link stops working (it was bound to the old password)."""
    set_password(user, password)
    update_profile(user, name=name, language=language)


def make_verify_token(user: User, secret_key: str, next_url: str = "") -> str:
    """A signed link token proving the user reads this address (bound to the current password)."""
    return URLSafeTimedSerializer(secret_key, salt=VERIFY_SALT).dumps(
        {"u": user.id, "p": _fingerprint(user), "n": next_url[:500]})


def user_for_verify_token(session: Session, token: str, secret_key: str,
                          max_age: int = VERIFY_MAX_AGE_S) -> tuple[User, str] | None:
    """(user, next) for a valid confirmation token, None otherwise."""
    found = _token_user(session, URLSafeTimedSerializer(secret_key, salt=VERIFY_SALT), token, max_age)
    return None if found is None else (found[0], str(found[1].get("n") or ""))


def mark_verified(user: User) -> None:
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()


def set_password(user: User, new_password: str) -> None:
    """Store a new password hash; every outstanding reset link stops working."""
    user.password_hash = hash_secret(new_password)


def update_profile(user: User, *, name: str, language: str, phone: str | None = None) -> None:
    """Name, language and (when given) the phone number, already checked and in E.164 ('' removes it)."""
    user.name = name.strip()
    user.language = language
    if phone is not None:
        user.phone = phone


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=RESET_SALT)


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:20]


def make_reset_token(user: User, secret_key: str) -> tuple[str, datetime]:
    """A signed reset token for this user and the time it stops working."""
    token = _serializer(secret_key).dumps({"u": user.id, "p": _fingerprint(user)})
    return token, utcnow() + timedelta(seconds=RESET_MAX_AGE_S)


def user_for_reset_token(session: Session, token: str, secret_key: str,
                         max_age: int = RESET_MAX_AGE_S) -> User | None:
    """The active user a valid, unexpired, unused token belongs to; None otherwise."""
    found = _token_user(session, _serializer(secret_key), token, max_age)
    return None if found is None else found[0]


def _token_user(session: Session, serializer: URLSafeTimedSerializer, token: str,
                max_age: int) -> tuple[User, dict] | None:
    """The active user a signed token names, and the token's data, while the token is fresh and the
    user's password is the one it was made for (a changed password spends every such link)."""
    try:
        data = serializer.loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = session.get(User, data["u"])
    if user is None or not user.active or data.get("p") != _fingerprint(user):
        return None
    return user, data


def delete_account(session: Session, user: User) -> None:
    """Delete the account. Its statements and credit notes stay (bookkeeping rules): the reference to the
    account is cleared by the database (SET NULL) and the person on them becomes a pseudonym. Flushes."""
    from portal.services.people.retention import pseudonymise_documents

    pseudonymise_documents(session, user.id)
    session.delete(user)
    session.flush()
