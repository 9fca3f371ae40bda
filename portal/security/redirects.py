"""Where a `next` value may send the browser: only a path on this site.

Browsers are lenient: they read `/\\host` and `/\t/host` as `//host`, drop tabs and line breaks
inside URLs, and a proxy or a second decoding may turn `/%2F` into `//`. So a target is followed
only when it is a plain absolute path whose decoded form is still one.
"""
from __future__ import annotations

from urllib.parse import unquote, urlsplit

MAX_LENGTH = 2000


def _plain_path(value: str) -> bool:
    if not value.startswith("/") or value[1:2] in ("/", "\\"):
        return False
    if "\\" in value or any(ord(c) < 33 or ord(c) == 127 for c in value):
        return False
    parts = urlsplit(value)
    return not parts.scheme and not parts.netloc


def is_safe_path(target: str) -> bool:
    """True for a same-site path that stays one however many times it is URL-decoded."""
    if not target or len(target) > MAX_LENGTH:
        return False
    seen = target
    for _ in range(3):
        if not _plain_path(seen):
            return False
        decoded = unquote(seen)
        if decoded == seen:
            return True
        seen = decoded
    return False


def safe_next(target: str | None, default: str = "/") -> str:
    """`target` when it is a safe same-site path, else `default`."""
    return target if target and is_safe_path(target) else default
