"""Private-link tokens: the visitor gets the token, the database keeps only its SHA-256.

A private link (a visitor's ticket, an order) works while it is used: it expires ``LINK_IDLE_DAYS``
after its last use, and every use renews it. An expired link answers 410 with the way to a new one
(``/links``: type the e-mail address, the links are sent there again).

Every later e-mail about the same ticket or order carries the same link: the token is an HMAC of a
random per-holder seed under the app's secret key, so it can be derived again (``link_token``) while
the database still keeps only the seed and the token's hash (a copy of the database opens nothing).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone
from typing import Protocol

from portal.db import utcnow

LINK_IDLE_DAYS = 90
RENEW_AFTER = timedelta(hours=1)  # a page view renews the link at most once an hour (one write, not one each)


class LinkExpired(Exception):
    """The private link is right but unused for too long: ask for a new one."""


class HasPrivateLink(Protocol):
    access_token_hash: str | None
    access_token_used_at: datetime | None
    access_token_seed: str | None


def new_token() -> tuple[str, str]:
    """A fresh URL-safe token and the hash to store."""
    token = secrets.token_urlsafe(24)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


def _secret() -> bytes:
    """The app's secret key (the same one the settings give when there is no app, e.g. a CLI job)."""
    from flask import current_app, has_app_context

    from portal import settings

    key = current_app.config["SECRET_KEY"] if has_app_context() else settings.get("secret_key")
    return str(key or "").encode()


def _derive(seed: str) -> str:
    mac = hmac.new(_secret(), b"private-link:" + seed.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode().rstrip("=")


def issue(holder: HasPrivateLink) -> str:
    """Give `holder` a new private link (the old one stops working); returns the token to send."""
    seed = secrets.token_urlsafe(18)[:32]
    token = _derive(seed)
    holder.access_token_seed, holder.access_token_hash = seed, hash_token(token)
    holder.access_token_used_at = utcnow()
    return token


def link_token(holder: HasPrivateLink) -> str | None:
    """The holder's current link again, for one more e-mail about it (sending it counts as a use,
    so the link in a fresh e-mail works). None when the link was withdrawn (erased, retention).
    A link made before seeds were kept (or under another secret key) cannot be derived: it is
    replaced by a new one, and the old e-mails' link stops working."""
    if holder.access_token_hash is None:
        return None
    if holder.access_token_seed:
        token = _derive(holder.access_token_seed)
        if hmac.compare_digest(hash_token(token), holder.access_token_hash):
            holder.access_token_used_at = utcnow()
            return token
    return issue(holder)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def use(holder: HasPrivateLink, now: datetime | None = None) -> None:
    """Check the link has been used within LINK_IDLE_DAYS (else LinkExpired) and renew it."""
    now = now or utcnow()
    last = _aware(holder.access_token_used_at) if holder.access_token_used_at else None
    if last is None or now - last > timedelta(days=LINK_IDLE_DAYS):
        raise LinkExpired()
    if now - last > RENEW_AFTER:
        holder.access_token_used_at = now


def private_link_used(holder: HasPrivateLink) -> None:
    """`use` inside a request: a renewal is committed at once (a page view makes no other change)."""
    from portal.extensions import db_session

    use(holder)
    session = db_session()
    if session.dirty:
        session.commit()
