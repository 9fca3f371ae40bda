"""Flask extensions and the per-request database session and Redis connection."""
from __future__ import annotations

from flask import current_app, g
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from redis import Redis
from sqlalchemy.orm import Session

from portal.db import Database

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
htmx = Htmx()


def database() -> Database:
    return current_app.extensions["portal_db"]


def db_session() -> Session:
    """The request's session; opened on first use, closed at teardown."""
    if "db_session" not in g:
        g.db_session = database().session_factory()
    return g.db_session


def close_db_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def redis_conn() -> Redis:
    """A Redis client for this app (connection pool shared by the process)."""
    client = current_app.extensions.get("portal_redis")
    if client is None:
        client = Redis.from_url(
            current_app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5
        )
        current_app.extensions["portal_redis"] = client
    return client
