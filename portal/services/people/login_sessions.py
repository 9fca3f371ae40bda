"""Log-in sessions kept on the server (Flask-free; functions flush, the caller commits).

A log-in creates a row and a random token; the browser's session (and, with "remember me", its
remember cookie) carries only "<user id>:<token>", the database only the token's SHA-256. A session
ends when the user logs out or ends it from the account page, when the password changes (every other
session), when it is idle longer than its idle limit, or when it reaches its absolute lifetime,
whatever the cookie says. Limits: `SessionLimits`, from the app config (see SECURITY.md).
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import LoginSession, User

TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often


@dataclass(frozen=True)
class SessionLimits:
    idle: timedelta = timedelta(hours=2)
    absolute: timedelta = timedelta(hours=12)
    remember_idle: timedelta = timedelta(days=30)
    remember_absolute: timedelta = timedelta(days=90)

    def for_session(self, row: LoginSession) -> tuple[timedelta, timedelta]:
        return (self.remember_idle, self.remember_absolute) if row.remember else (self.idle, self.absolute)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def start(session: Session, user: User, *, remember: bool, user_agent: str = "", ip_address: str = "") -> str:
    """A new log-in session for `user`; returns its token (shown to nobody but the user's browser)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(LoginSession(user_id=user.id, token_hash=_hash(token), remember=remember,
                             user_agent=(user_agent or "")[:200], ip_address=(ip_address or "")[:45],
                             created_at=now, last_seen_at=now))
    session.flush()
    return token


def expired(row: LoginSession, limits: SessionLimits, now: datetime) -> bool:
    idle, absolute = limits.for_session(row)
    return now - _aware(row.last_seen_at) > idle or now - _aware(row.created_at) > absolute


_ls = LoginSession.__table__.c
# Built once: every request of a logged-in user runs it. The user is an ORM object (it is current_user,
# which pages read and change); the session is a plain row of the columns the limits need.
_SESSION_AND_USER = (select(User, _ls.id, _ls.user_id, _ls.remember, _ls.created_at, _ls.last_seen_at)
                     .join_from(User, LoginSession.__table__, _ls.user_id == User.id)
                     .where(_ls.token_hash == bindparam("token_hash")))


@dataclass(frozen=True)
class LiveSession:
    """A live log-in session as a request sees it (id and user; the times the limits were checked on)."""

    id: int
    user_id: int
    remember: bool
    created_at: datetime
    last_seen_at: datetime


def find(session: Session, user_id: int, token: str, limits: SessionLimits) -> LiveSession | None:
    """The live session this token names for this user; an expired one is deleted on the way (not committed)."""
    return find_with_user(session, user_id, token, limits)[0]


def find_with_user(session: Session, user_id: int, token: str,
                   limits: SessionLimits) -> tuple[LiveSession | None, User | None, bool]:
    """`find`, and the session's user, in one query; the third value says whether it wrote (not
    committed): only when the session expired (deleted) or its last_seen_at is older than TOUCH_EVERY
    (moved on), so not once per request."""
    if not token:
        return None, None, False
    found = session.execute(_SESSION_AND_USER, {"token_hash": _hash(token)}).first()
    if found is None or found.user_id != user_id:
        return None, None, False
    user, row = found[0], LiveSession(*found[1:])
    now = utcnow()
    if expired(row, limits, now):
        session.execute(delete(LoginSession).where(LoginSession.id == row.id))
        return None, None, True
    if now - _aware(row.last_seen_at) > TOUCH_EVERY:
        session.execute(update(LoginSession).where(LoginSession.id == row.id).values(last_seen_at=now))
        return row, user, True
    return row, user, False


def by_token(session: Session, token: str) -> LoginSession | None:
    return session.scalar(select(LoginSession).where(LoginSession.token_hash == _hash(token))) if token else None


def active(session: Session, user_id: int, limits: SessionLimits) -> list[LoginSession]:
    """The user's live sessions, most recently used first."""
    now = utcnow()
    rows = session.scalars(select(LoginSession).where(LoginSession.user_id == user_id)
                           .order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc()))
    return [row for row in rows if not expired(row, limits, now)]


def end(session: Session, user_id: int, session_id: int) -> bool:
    """End one of the user's own sessions; False when it is not theirs (or gone already)."""
    result = session.execute(delete(LoginSession).where(LoginSession.id == session_id,
                                                        LoginSession.user_id == user_id))
    return bool(result.rowcount)


def end_all(session: Session, user_id: int, keep_id: int | None = None) -> int:
    """End every session of the user, except `keep_id` (this device) when given; returns how many ended."""
    stmt = delete(LoginSession).where(LoginSession.user_id == user_id)
    if keep_id is not None:
        stmt = stmt.where(LoginSession.id != keep_id)
    return session.execute(stmt).rowcount or 0


def purge_expired(session: Session, limits: SessionLimits) -> int:
    """Delete sessions past their limits (a periodic job, or at log-in)."""
    now = utcnow()
    candidates = session.scalars(select(LoginSession).where(
        (LoginSession.last_seen_at < now - min(limits.idle, limits.remember_idle))
        | (LoginSession.created_at < now - min(limits.absolute, limits.remember_absolute))))
    stale = [row.id for row in candidates if expired(row, limits, now)]
    if stale:
        session.execute(delete(LoginSession).where(LoginSession.id.in_(stale)))
    return len(stale)


def device_label(user_agent: str) -> str:
    """A short, human name for the device from its User-Agent ("Chrome on Android")."""
    ua = user_agent or ""
    browser = next((name for key, name in (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
                                           ("SamsungBrowser", "Samsung Internet"), ("Chrome/", "Chrome"),
                                           ("Chromium/", "Chromium"), ("Safari/", "Safari")) if key in ua), "")
    system = next((name for key, name in (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
                                          ("Windows", "Windows"), ("Mac OS X", "Mac"), ("CrOS", "ChromeOS"),
                                          ("Linux", "Linux")) if key in ua), "")
    if browser and system:
        return f"{browser} · {system}"
    return browser or system
