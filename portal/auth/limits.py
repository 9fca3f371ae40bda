"""Rate limits on log-in, registration and password reset (flask-limiter, counters in Redis).

The limiter is wired to the app when the auth blueprint is registered. Settings (app config):
RATELIMIT_ENABLED (tests turn it off; also read from the environment, RATELIMIT_ENABLED=0),
RATELIMIT_STORAGE_URI (defaults to REDIS_URL).
If Redis does not answer, requests are let through (RATELIMIT_SWALLOW_ERRORS) rather than failing.
Other blueprints may use it too: ``from portal.auth.limits import limiter``.
"""
from __future__ import annotations

import os

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, key_prefix="portal-rl")

LOGIN_LIMIT = "30 per minute; 300 per hour"  # per address: a building's residents may share one
LOGIN_PER_ACCOUNT_LIMIT = "10 per minute; 60 per hour"  # guessing one account's password
REGISTER_LIMIT = "5 per minute; 30 per hour"
RESET_LIMIT = "5 per minute; 30 per hour"
RESET_PER_ADDRESS_LIMIT = "3 per hour"  # no mail-bombing one address through the reset form


def submitted_email() -> str:
    """Rate-limit key: the e-mail address typed into the form (lower-cased)."""
    return "email:" + (request.form.get("email") or "").strip().lower()[:254]


def init_limiter(app: Flask) -> None:
    if os.environ.get("RATELIMIT_ENABLED"):
        app.config.setdefault("RATELIMIT_ENABLED", os.environ["RATELIMIT_ENABLED"].lower() not in ("0", "false", "no"))
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 2, "socket_timeout": 2})
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
