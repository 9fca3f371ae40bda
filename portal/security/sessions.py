"""Log-in and log-out for the web app on top of server-side sessions (portal.services.people.login_sessions).

`log_in` starts a fresh Flask session (new CSRF token, nothing carried over from before log-in) and a
new server-side session; `load_user` (Flask-Login's user loader) accepts a cookie only while its
server-side session lives; `log_out` ends it on the server, so a copied cookie stops working.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, g, request, session
from flask_login import login_user, logout_user

from portal.extensions import db_session
from portal.models import LoginSession, User
from portal.services.people import login_sessions


def limits() -> login_sessions.SessionLimits:
    cfg = current_app.config
    return login_sessions.SessionLimits(
        idle=timedelta(minutes=int(cfg["SESSION_IDLE_MINUTES"])),
        absolute=timedelta(hours=int(cfg["SESSION_MAX_HOURS"])),
        remember_idle=timedelta(days=int(cfg["REMEMBER_IDLE_DAYS"])),
        remember_absolute=timedelta(days=int(cfg["REMEMBER_MAX_DAYS"])),
    )


def log_in(user: User, *, remember: bool) -> LoginSession:
    """Log `user` in on this browser with a new session id and CSRF token; flushes, the caller commits."""
    db = db_session()
    login_sessions.purge_expired(db, limits())
    token = login_sessions.start(db, user, remember=remember, user_agent=request.user_agent.string,
                                 ip_address=request.remote_addr or "")
    session.clear()  # a new session: no CSRF token or anything else from before log-in survives
    user.login_token = token
    login_user(user, remember=remember, duration=timedelta(days=int(current_app.config["REMEMBER_MAX_DAYS"])))
    g.login_session = login_sessions.by_token(db, token)
    return g.login_session


def log_out() -> None:
    """End this browser's session on the server and forget it here; the caller commits."""
    row = current_login_session()
    if row is not None:
        login_sessions.end(db_session(), row.user_id, row.id)
    logout_user()
    session.clear()


def current_login_session() -> login_sessions.LiveSession | LoginSession | None:
    return g.get("login_session")


def load_user(session_id: str) -> User | None:
    """Flask-Login's user loader: the user of a live server-side session, else nobody."""
    user_id, _, token = (session_id or "").partition(":")
    if not user_id.isdigit() or not token:
        return None
    db = db_session()
    row, user, wrote = login_sessions.find_with_user(db, int(user_id), token, limits())
    if wrote:
        db.commit()  # last_seen_at moved on, or an expired session was ended
    if row is None:
        return None
    if user is None or not user.active:
        return None
    user.login_token = token
    g.login_session = row
    return user


def init_sessions(app: Flask) -> None:
    """Limits come from the config (portal.settings: SESSION_IDLE_MINUTES, SESSION_MAX_HOURS,
    REMEMBER_IDLE_DAYS, REMEMBER_MAX_DAYS); the remember cookie lives as long as its session may."""
    app.config.setdefault("REMEMBER_COOKIE_DURATION", timedelta(days=int(app.config["REMEMBER_MAX_DAYS"])))
