"""The key that signs sessions, CSRF tokens and reset links must be a real secret.

`create_app` refuses to start (outside tests) with no SECRET_KEY, the old development default, or a key
too short to be random. `make run` calls `ensure_key_file()`, which creates ``instance/secret_key`` once
(random, readable by the owner only), so a developer machine keeps one key across restarts and nobody
runs a deployment on a key published in the repository. Every entry point finds that key the same way
when SECRET_KEY is not set (portal.settings: SECRET_KEY, else SECRET_KEY_FILE), so an operations command
in a second terminal beside `make run` signs with the same key.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from portal import settings

MIN_LENGTH = 16
KNOWN_WEAK = frozenset({"dev-only-secret-change-me", "change-me", "secret", "dev", "development"})


class WeakSecretKey(RuntimeError):
    """The configured SECRET_KEY is missing or not a secret."""


def check_secret_key(config: dict) -> None:
    """Raise WeakSecretKey unless testing or SECRET_KEY looks like a real secret."""
    if config.get("TESTING"):
        return
    key = str(config.get("SECRET_KEY") or "")
    if not key or key in KNOWN_WEAK or len(key) < MIN_LENGTH:
        raise WeakSecretKey(
            "SECRET_KEY is missing or too weak: set it to a long random value (for example the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`), or run `make run` once: it "
            f"creates {settings.get('secret_key_file')}, which every command then reads when SECRET_KEY is "
            "not set.")


def ensure_key_file(path: Path | None = None) -> str:
    """The key stored in `path` (default SECRET_KEY_FILE), created once with owner-only permissions."""
    path = Path(path or settings.get("secret_key_file"))
    if path.is_file():
        key = path.read_text(encoding="utf-8").strip()
        if len(key) >= MIN_LENGTH:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    return key
