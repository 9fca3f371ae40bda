"""Site management for board members and operator admins under /manage, on the blueprint ``bp``:
overview and dashboard (overview.py), tariffs, people, chargers, board tools, ordering settings,
the change log and the site's own words (one module per area)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("site", __name__)

from portal.site import (  # noqa: E402,F401  (registers their views on bp)
    account, board, changelog, chargers, ordering, overview, payment_rule, people, power, tariffs, uptime, words,
)
