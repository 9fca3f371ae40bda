"""Support and sales staff console under /staff, on the blueprint ``bp`` (one module per area)."""
from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from portal.services.staff.roles import allowed

bp = Blueprint("staff", __name__)


@bp.context_processor
def _staff_context() -> dict:
    return {"staff_allows": lambda area: allowed(current_user, area)}


from portal.staff import (  # noqa: E402,F401  (registers their views on bp)
    admin, audit, chargers, firmware, fleet, incidents, overview, payments, people, person_actions, reliability,
    remote, sales, sessions, sites, takeover, tickets, workorders,
)
from portal.staff import fleet_config  # noqa: E402,F401  (issue 21)
from portal.staff import accounting, payout_terms  # noqa: E402,F401  (issue 24 parts 4-5)
from portal.staff import smart  # noqa: E402,F401  (issue 22)
