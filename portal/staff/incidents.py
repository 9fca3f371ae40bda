"""Chargers' own faults for support: the open incidents, one incident's story, what was found and whose
downtime it was, and the remote steps that usually clear it."""
from __future__ import annotations

import logging

from flask import abort, flash
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import refusals
from portal.extensions import db_session, redis_conn
from portal.htmx import hx_redirect, render
from portal.models import Incident
from portal.models.incident_parts import INCIDENT_STEPS
from portal.services.charging import action_queue
from portal.services.faults import steps
from portal.services.faults.words import OWNERS, STATUSES, cause_words, error_words
from portal.services.staff.remote import RemoteRefused
from portal.staff import bp
from portal.staff.common import staff_area
from portal.staff.incident_forms import FindingsForm, StepForm

log = logging.getLogger(__name__)
WORDS = {"cause": cause_words, "error": error_words, "statuses": STATUSES, "owners": OWNERS}


@bp.route("/incidents")
@staff_area("support")
def incidents():
    s = db_session()
    open_rows = s.scalars(select(Incident).where(Incident.status != "resolved").order_by(Incident.opened_at.desc()))
    recent = s.scalars(select(Incident).where(Incident.status == "resolved")
                       .order_by(Incident.resolved_at.desc()).limit(50))
    return render("staff/incidents.html", block="list", open_rows=list(open_rows), recent=list(recent),
                  section="incidents", **WORDS)


def _incident(incident_id: int) -> Incident:
    incident = db_session().get(Incident, incident_id)
    if incident is None:
        abort(404)
    return incident


def _page(incident: Incident, form: FindingsForm | None = None, status: int = 200):
    if form is None:
        form = FindingsForm(formdata=None, obj=incident)
    return render("staff/incident.html", block="incident", incident=incident, form=form, step_form=StepForm(),
                  offered=steps.offered(incident), tried=steps.tried(db_session(), incident),
                  step_labels=steps.LABELS, section="incidents", status=status, **WORDS)


@bp.route("/incidents/<int:incident_id>")
@staff_area("support")
def incident(incident_id: int):
    return _page(_incident(incident_id))


@bp.route("/incidents/<int:incident_id>/findings", methods=["POST"])
@staff_area("support")
def incident_findings(incident_id: int):
    incident = _incident(incident_id)
    form = FindingsForm()
    if not form.validate_on_submit():
        return _page(incident, form, status=422)
    incident.downtime_owner, incident.cause_found = form.downtime_owner.data, form.cause_found.data.strip()
    db_session().commit()
    flash(_("Saved."), "success")
    return hx_redirect("staff.incident", incident_id=incident.id)


STEP_RULE = "any(" + ", ".join(INCIDENT_STEPS) + ")"


@bp.route(f"/incidents/<int:incident_id>/steps/<{STEP_RULE}:step>", methods=["POST"])
@staff_area("support")
def incident_step(incident_id: int, step: str):
    incident = _incident(incident_id)
    if not StepForm().validate_on_submit() or step not in steps.offered(incident):
        abort(400)
    session = db_session()
    try:
        tried = steps.try_step(session, current_user, incident, step)
    except RemoteRefused as exc:
        session.rollback()
        flash(refusals.text("staff", exc.code), "error")
        return hx_redirect("staff.incident", incident_id=incident.id)
    session.commit()
    try:
        action_queue.enqueue_action(redis_conn(), tried.action_request_id)
    except Exception as exc:  # noqa: BLE001 - the row says queued; the sweeper or a retry takes it
        log.warning("incident step %s not enqueued: %s", tried.id, exc)
    return hx_redirect("staff.incident", incident_id=incident.id)
