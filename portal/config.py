"""Configuration: defaults, then environment overrides, then an explicit test mapping."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"

ENV_KEYS = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "OCPP_HOST",
    "OCPP_PORT",
    "OCPP_NODE_ID",
    "PORTAL_BASE_URL",
    "SMTP_URL",
    "SPOT_PRICE_SOURCE",
    "MAIL_FROM",
    "OCPP_TLS_CERT",
    "OCPP_TLS_KEY",
    "OCPP_LOG_RETENTION_DAYS",
    "SUPPORT_PHONE",
    "SUPPORT_EMAIL",
    "SALES_EMAIL",
    "SALES_LANGUAGE",
    "UPLOAD_DIR",
    "RFID_RETENTION_DAYS",
    "COOKIE_SECURE",
    "TRUSTED_PROXIES",
    "SESSION_IDLE_MINUTES",
    "SESSION_MAX_HOURS",
    "REMEMBER_IDLE_DAYS",
    "REMEMBER_MAX_DAYS",
    "OPERATOR_NAME",
    "OPERATOR_ORG_NUMBER",
    "OCPP_TAG_EXPIRY_S",
    "OCPP_MAX_FRAME_BYTES",
    "OCPP_MSGLOG_BUFFER_BYTES",
    "OCPP_DB_STATEMENT_TIMEOUT_S",
    "OCPP_AUTH_MAX_FAILURES",
    "OCPP_AUTH_WINDOW_S",
    "OCPP_AUTH_PENALTY_S",
    "OCPP_MSGLOG_BUDGET_BYTES",
    "OCPP_MSGLOG_BUDGET_WINDOW_S",
    "OCPP_MSGLOG_FRAME_MAX_BYTES",
    "OCPP_HEALTH_TOKEN",
    "OCPP_HEALTH_DETAILS_PRIVATE",
    "OCPP_MAX_MESSAGES_PER_S",
    "OCPP_IDLE_TIMEOUT_S",
    "OCPP_PING_INTERVAL_S",
    "OCPP_CACHE_MAX_AGE_S",
)


class Config:
    """Working defaults for a single developer machine."""

    DATABASE_URL = f"sqlite:///{INSTANCE_DIR / 'portal.db'}"
    REDIS_URL = "redis://127.0.0.1:6379/0"
    SECRET_KEY = ""  # required outside tests; `make run` keeps one in instance/secret_key
    OCPP_HOST = "127.0.0.1"
    OCPP_PORT = "9000"
    OCPP_NODE_ID = ""  # empty: a unique id per node process (host name, process id, random suffix)
    PORTAL_BASE_URL = "http://127.0.0.1:5000"
    SMTP_URL = "smtp://127.0.0.1:8025"
    SPOT_PRICE_SOURCE = ""
    MAIL_FROM = "Ladeportalen <no-reply@portal.example>"
    OCPP_TLS_CERT = ""
    OCPP_TLS_KEY = ""
    OCPP_LOG_RETENTION_DAYS = "30"
    # Help and sales: shown on the home page and the support page; notifications of quotes and orders.
    SUPPORT_PHONE = "+47 21 00 00 00"
    SUPPORT_EMAIL = "support@portal.example"
    SALES_EMAIL = "sales@portal.example"
    SALES_LANGUAGE = "nb"
    # Uploaded ticket photos live here, outside static/, served only through an access-checked view.
    UPLOAD_DIR = str(INSTANCE_DIR / "uploads")
    RFID_RETENTION_DAYS = "90"  # card ids on finished sessions, then only the billed account remains
    COOKIE_SECURE = ""  # "1"/"0"; empty: Secure cookies when PORTAL_BASE_URL is https
    TRUSTED_PROXIES = "0"  # reverse proxies in front of the web app whose X-Forwarded-* are believed
    SESSION_IDLE_MINUTES = "120"  # log-in session without "keep me logged in": idle limit
    SESSION_MAX_HOURS = "12"  # ... and absolute lifetime
    REMEMBER_IDLE_DAYS = "30"  # with "keep me logged in"
    REMEMBER_MAX_DAYS = "90"
    # Who issues statements and receipts (the support phone above is also printed on charger stickers).
    OPERATOR_NAME = "Ladeportalen AS"
    OPERATOR_ORG_NUMBER = "923 609 016"
    # A charger may cache an Authorize/Start answer this long: a blocked tag stops working within it.
    OCPP_TAG_EXPIRY_S = "900"
    # Largest OCPP frame a node accepts (bytes); larger frames close the connection (1009).
    OCPP_MAX_FRAME_BYTES = str(256 * 1024)
    # The message log's buffer while the database is away; beyond it the oldest frames are dropped.
    OCPP_MSGLOG_BUFFER_BYTES = str(8 * 1024 * 1024)
    # A node's database statements and connects give up after this long (a hung database fails fast).
    OCPP_DB_STATEMENT_TIMEOUT_S = "10"
    # Wrong passwords from one address or for one identity: after this many within the window, further
    # failures are answered 429 after a pause of OCPP_AUTH_PENALTY_S, and their checks wait behind every
    # other handshake's. A charger presenting the right secret is never refused by this (SECURITY.md).
    OCPP_AUTH_MAX_FAILURES = "10"
    OCPP_AUTH_WINDOW_S = "300"
    OCPP_AUTH_PENALTY_S = "1"
    # The message log keeps at most this many bytes per charger within the rolling window (refilled
    # continuously); a stored frame is cut at OCPP_MSGLOG_FRAME_MAX_BYTES with its original size noted.
    OCPP_MSGLOG_BUDGET_BYTES = str(1024 * 1024)
    OCPP_MSGLOG_BUDGET_WINDOW_S = "3600"
    OCPP_MSGLOG_FRAME_MAX_BYTES = str(16 * 1024)
    # /healthz on the charger port answers only ok/unhealthy, unless the caller sends this token
    # (Authorization: Bearer ...) or, with OCPP_HEALTH_DETAILS_PRIVATE=1, calls from a private address.
    OCPP_HEALTH_TOKEN = ""
    OCPP_HEALTH_DETAILS_PRIVATE = "1"
    # Messages per second a charger may send (a burst of five seconds' worth); beyond it the node
    # reads its socket more slowly (nothing is refused, so a charger emptying its queue loses nothing).
    OCPP_MAX_MESSAGES_PER_S = "20"
    # A socket with no OCPP message for this long is closed (0: three heartbeat intervals, at least
    # 5 minutes). Half-open sockets are found sooner by WebSocket pings (30 s).
    OCPP_IDLE_TIMEOUT_S = "0"
    # WebSocket pings find half-open sockets: no pong within the same time closes the connection.
    OCPP_PING_INTERVAL_S = "30"
    # A node keeps what it read about a connected charger this long at most (changes made elsewhere are
    # announced through Redis at once; the age only bounds the cost of an announcement that was lost).
    OCPP_CACHE_MAX_AGE_S = "60"
    BABEL_DEFAULT_LOCALE = "nb"
    BABEL_DEFAULT_TIMEZONE = "Europe/Oslo"
    LANGUAGES = ("nb", "sv", "en")
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SAMESITE = "Lax"
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    TESTING = False


def load_settings(overrides: dict | None = None) -> dict:
    """Merge the defaults, the environment and explicit overrides into one mapping."""
    settings = {k: getattr(Config, k) for k in dir(Config) if k.isupper()}
    for key in ENV_KEYS:
        if os.environ.get(key):
            settings[key] = os.environ[key]
    if overrides:
        settings.update(overrides)
    return settings


def setting(key: str) -> str:
    """One setting outside Flask (worker, OCPP server): environment first, then the default."""
    return os.environ.get(key) or getattr(Config, key)
