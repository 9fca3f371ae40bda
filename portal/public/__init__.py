"""Pages for everyone (pages.py: home, health check, language choice; links.py: new private links), on ``bp``."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("public", __name__)

from portal.public import charger_files, links, pages  # noqa: E402,F401  (register their views on bp)
