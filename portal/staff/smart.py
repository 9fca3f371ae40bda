"""What the staff charger page shows of smart charging (issue 22): the charger's capabilities, the floor
profile it holds and its answer, and the floor the site's plan gives it (templates/staff/_charger_power.html)."""
from __future__ import annotations

from portal.extensions import db_session
from portal.models import ChargePoint, ChargerPower
from portal.services.smart import power
from portal.staff import bp


def charger_power_context(cp: ChargePoint) -> dict:
    session = db_session()
    plan = power.plan(session, cp.site_id) if power.power_of(session, cp.site_id) else None
    row = session.get(ChargerPower, cp.id)
    return {"row": row, "planned": plan.floors.get(cp.id) if plan else None, "holds": plan.holds if plan else True,
            "limited": power.can_limit(row) if row else None, "has_power": plan is not None}


bp.add_app_template_global(charger_power_context, "staff_charger_power")
