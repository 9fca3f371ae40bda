"""Known faults on the start screen and site pages, and "me too" on a charger's open incident."""
from __future__ import annotations

from flask import abort, flash
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.extensions import db_session
from portal.htmx import hx_redirect
from portal.models import Incident
from portal.resident import bp
from portal.resident.common import visible_charge_point
from portal.resident.forms import EmptyForm
from portal.services.faults import notices
from portal.services.faults.words import cause_words


@bp.app_template_global("charger_incidents")
def charger_incidents(cp) -> list[Incident]:
    return notices.of_charger(db_session(), cp.id, cp.site_id)


@bp.app_template_global("site_incidents")
def site_incidents(site_id: int) -> list[Incident]:
    return notices.of_site(db_session(), site_id)


@bp.app_template_global("site_outage")
def site_outage(site_id: int) -> Incident | None:
    return notices.site_outage(db_session(), site_id)


@bp.app_template_global("incident_cause")
def incident_cause(cause: str) -> str:
    return cause_words(cause)


@bp.app_template_global("follows_incident")
def follows_incident(incident: Incident) -> bool:
    return current_user.is_authenticated and notices.follows(db_session(), incident, current_user)


@bp.route("/c/<identity>/incidents/<int:incident_id>/me-too", methods=["POST"])
@login_required
def me_too(identity: str, incident_id: int):
    """The resident met the known fault too: a follower of its ticket, not a new ticket."""
    cp = visible_charge_point(identity)
    session = db_session()
    incident = session.get(Incident, incident_id)
    if incident is None or incident not in notices.of_charger(session, cp.id, cp.site_id):
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    notices.me_too(session, incident, current_user)
    session.commit()
    flash(_("Thank you. Support knows you met this fault too."), "success")
    return hx_redirect("resident.start_screen", identity=cp.identity)
