"""Security headers on every response, set in one after-request hook.

The Content-Security-Policy allows scripts and styles only from our own origin: no inline script,
no `style=""` attribute, no eval. Templates must therefore keep all JavaScript in static/js and all
styling in static/css; htmx is configured (meta `htmx-config` in base.html) not to eval and not to
inject its own indicator styles. Pages of a logged-in user and downloads are never cached, so a
receipt, a report or a CSV does not stay behind in a shared browser or a proxy.
"""
from __future__ import annotations

from flask import Flask, Response, request
from flask_login import current_user

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
))
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "camera", "geolocation", "gyroscope", "magnetometer", "microphone", "payment", "usb",
))
HSTS = "max-age=31536000; includeSubDomains"
STATIC_CACHE = "public, max-age=31536000, immutable"
NO_STORE = "no-store"


def no_store(response: Response) -> Response:
    """Never keep this response in any cache (receipts, reports, CSV downloads)."""
    response.headers["Cache-Control"] = NO_STORE
    response.headers["Pragma"] = "no-cache"
    return response


def _security_headers(response: Response) -> Response:
    headers = response.headers
    if request.endpoint == "static":
        if request.args.get("v") and response.status_code == 200:
            headers["Cache-Control"] = STATIC_CACHE
    elif "Cache-Control" not in headers and (current_user.is_authenticated or response.mimetype == "text/csv"):
        no_store(response)
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_headers(app: Flask) -> None:
    app.after_request(_security_headers)
