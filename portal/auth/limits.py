"""Rate limits on log-in, registration and password reset (flask-limiter, counters in Redis).

The limiter is wired to the app when the auth blueprint is registered. Settings (app config):
RATELIMIT_ENABLED (tests turn it off; also read from the environment, RATELIMIT_ENABLED=0),
RATELIMIT_STORAGE_URI (defaults to REDIS_URL).
If Redis does not answer, the limits are counted in this process instead (in-memory fallback), so
log-in is never unlimited; Flask-Limiter goes back to Redis once it answers again.
Other blueprints may use it too: ``from portal.auth.limits import limiter``, or `hit` inside a view
once access has been checked (so nobody can spend another site's budget).
"""
from __future__ import annotations

import hashlib
import logging

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

log = logging.getLogger("portal.auth")  # refusals are security events, next to log-ins and resets


def _log_breach(limit) -> None:
    log.warning("rate limit %s hit on %s %s from %s", limit.limit, request.method, request.path,
                request.remote_addr)


limiter = Limiter(key_func=get_remote_address, key_prefix="portal-rl", on_breach=_log_breach)

LOGIN_LIMIT = "30 per minute; 300 per hour"  # per address: a building's residents may share one
LOGIN_PER_ACCOUNT_LIMIT = "10 per minute; 60 per hour"  # guessing one account's password from one address
REGISTER_LIMIT = "5 per minute; 30 per hour"
RESET_LIMIT = "5 per minute; 30 per hour"
RESET_PER_ADDRESS_LIMIT = "3 per hour"  # no mail-bombing one address through the register/reset forms
# Reset e-mails to one account from all clients together. Past it the page answers the same and no
# further link is sent; the owner's inbox already holds the links sent this hour, each one working,
# so a stranger spending this budget never locks the owner out (nor does the visible 429, which
# counts per address AND client: RESET_PER_ADDRESS_LIMIT keyed by `email_and_address`).
RESET_MAILS_PER_ACCOUNT = "5 per hour"
VERIFY_LIMIT = "10 per minute; 60 per hour"  # password tries on confirmation links, per client address
VERIFY_PER_LINK_LIMIT = "5 per 15 minutes; 20 per day"  # ... and per link, from any number of addresses


FALLBACK = "portal_limits_in_process"  # app.extensions key of the in-process counters for `hit`

INVITES_PER_SITE = "300 per hour"  # addresses invited per site: a whole cooperative at once, not a spam run
INVITE_RESENDS_PER_SITE = "30 per hour"


def submitted_email() -> str:
    """Rate-limit key: the e-mail address typed into the form (lower-cased)."""
    return "email:" + (request.form.get("email") or "").strip().lower()[:254]


def email_and_address() -> str:
    """Rate-limit key for password guessing: the account AND the client's address. Someone failing from
    one address never blocks the owner logging in from another (no lock-out by strangers)."""
    return f"{submitted_email()}|{get_remote_address()}"


def address_key(email: str) -> str:
    """Key for `hit` counting e-mails to one address: a hash, so no address reaches a log line or Redis."""
    return "addr:" + hashlib.sha256((email or "").strip().lower().encode()).hexdigest()[:32]


def link_key() -> str:
    """Rate-limit key: the hash of the link token in the URL (the token itself is not kept anywhere)."""
    token = str((request.view_args or {}).get("token", ""))
    return "link:" + hashlib.sha256(token.encode()).hexdigest()[:32]


def hit(limit: str, *key: str, cost: int = 1) -> bool:
    """Count `cost` against `limit` for `key`; False once it is used up. For checks inside a view.
    Counted in Redis; when Redis does not answer, in this process (never let through uncounted)."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    item = parse(limit)
    try:
        allowed = limiter.limiter.hit(item, "portal-rl", *key, cost=cost)
    except Exception:  # noqa: BLE001 - the storage is away: count here instead of a 500 or no limit
        log.warning("rate limit %s for %s counted in process: storage unavailable", limit, "/".join(key))
        allowed = current_app.extensions[FALLBACK].hit(item, "portal-rl", *key, cost=cost)
    if not allowed:
        log.warning("rate limit %s hit for %s from %s", limit, "/".join(key), request.remote_addr)
    return allowed


def init_limiter(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 2, "socket_timeout": 2})
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_INVITES", INVITES_PER_SITE)
    app.config.setdefault("RATELIMIT_INVITE_RESENDS", INVITE_RESENDS_PER_SITE)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.extensions[FALLBACK] = FixedWindowRateLimiter(MemoryStorage())  # `hit` without Redis, per process
    limiter.init_app(app)
