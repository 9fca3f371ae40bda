"""What the staff charger page shows of smart charging (issue 22): the charger's capabilities, the floor
profile it holds and its answer, and the floor the site's plan gives it (templates/staff/_charger_power.html)."""
from __future__ import annotations

from flask import abort, flash
from flask_login import current_user
from flask_wtf import FlaskForm

from portal import refusals
from portal.extensions import db_session
from portal.htmx import hx_redirect, redirect_to
from portal.models import ChargePoint, ChargerPower
from portal.services.smart import power
from portal.services.staff import remote
from portal.staff import bp
from portal.staff.common import charger_or_404, staff_area

SCHEDULE_REASON = "reading the charging schedule in force (safe floor)"


def charger_power_context(cp: ChargePoint) -> dict:
    session = db_session()
    plan = power.plan(session, cp.site_id) if power.power_of(session, cp.site_id) else None
    row = session.get(ChargerPower, cp.id)
    return {"row": row, "planned": plan.floors.get(cp.id) if plan else None, "holds": plan.holds if plan else True,
            "limited": power.can_limit(row) if row else None, "has_power": plan is not None,
            "form": FlaskForm()}


@bp.route("/chargers/<identity>/schedule", methods=["POST"])
@staff_area("support")
def charger_schedule(identity: str):
    """GetCompositeSchedule for the whole charger (connector 0, one day, in A) through the remote-action
    path; the request's page shows the answer."""
    from flask import url_for

    from portal.staff.remote import _enqueue
    cp = charger_or_404(identity)
    if not FlaskForm().validate_on_submit():
        abort(400)
    session = db_session()
    try:
        row = remote._create(session, current_user, cp, "GetCompositeSchedule",
                             {"connectorId": 0, "duration": 86400, "chargingRateUnit": "A"}, SCHEDULE_REASON)
    except remote.RemoteRefused as exc:
        session.rollback()
        flash(refusals.text("staff", exc.code), "error")
        return redirect_to(url_for("staff.charger", identity=cp.identity) + "#charger-power")
    session.commit()
    _enqueue(remote.Requested(row))
    return hx_redirect("staff.action_request", action_id=row.id)


bp.add_app_template_global(charger_power_context, "staff_charger_power")
