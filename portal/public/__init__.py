"""Pages for everyone (pages.py): home, health check, language choice, on the blueprint ``bp``."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("public", __name__)

from portal.public import pages  # noqa: E402,F401  (registers its views on bp)
