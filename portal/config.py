"""The Flask configuration: portal.settings (the environment), Flask's own constants, then a test mapping."""
from __future__ import annotations

from portal import settings as portal_settings
from portal.settings import INSTANCE_DIR, PROJECT_ROOT, Settings

__all__ = ["FLASK_CONSTANTS", "INSTANCE_DIR", "PROJECT_ROOT", "flask_config"]

# Not settings: how the web app works, the same everywhere.
FLASK_CONSTANTS = {
    "BABEL_DEFAULT_LOCALE": "nb",
    "BABEL_DEFAULT_TIMEZONE": "Europe/Oslo",
    "LANGUAGES": ("nb", "sv", "en"),
    "WTF_CSRF_TIME_LIMIT": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "TESTING": False,
}


def flask_config(overrides: dict | None = None, settings: Settings | None = None) -> dict:
    """Every setting under its upper-case name, Flask's constants, then explicit overrides (tests)."""
    values = settings or portal_settings.load()
    config = {name.upper(): getattr(values, name) for name in portal_settings.FIELDS}
    config.update(FLASK_CONSTANTS)
    config.update(overrides or {})
    return config
