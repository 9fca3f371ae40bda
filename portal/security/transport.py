"""Cookies and the client's address behind HTTPS and proxies.

* Cookies carry `Secure` when the portal is served over HTTPS: `COOKIE_SECURE` = 1/0, or by default
  when `PORTAL_BASE_URL` starts with https. Always `HttpOnly` and `SameSite=Lax`.
* `TRUSTED_PROXIES` (default 0) is how many reverse proxies stand in front of the app. Only then are
  `X-Forwarded-For/-Proto/-Host/-Port` believed (Werkzeug's ProxyFix), each for that many hops, so the
  rate limits count the client's address, never the load balancer's, and nobody can fake an address
  by sending the header themselves.
"""
from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

TRUE = ("1", "true", "yes", "on")


def cookies_secure(config: dict) -> bool:
    """Whether cookies need `Secure`: the explicit setting, else an https PORTAL_BASE_URL."""
    explicit = config.get("COOKIE_SECURE")
    if isinstance(explicit, bool):  # portal.settings: True/False, or None for "by PORTAL_BASE_URL"
        return explicit
    explicit = str(explicit or "").strip().lower()  # a test mapping may pass "1"/"0"
    if explicit:
        return explicit in TRUE
    return str(config.get("PORTAL_BASE_URL", "")).lower().startswith("https://")


def init_transport(app: Flask) -> None:
    secure = cookies_secure(app.config)
    app.config.update(
        SESSION_COOKIE_SECURE=secure, REMEMBER_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax", REMEMBER_COOKIE_SAMESITE="Lax",
    )
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies)


def cookie_secure() -> bool:
    """`Secure` flag for cookies we set ourselves (the language cookie), like the session cookie's."""
    return bool(current_app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure
