"""Remote first: the steps that usually clear an incident of each cause, tried through the staff remote
actions (portal/services/staff/remote.py) and recorded on the incident with their outcome."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import ChargePoint, Incident, IncidentStep, User
from portal.models.actions import ActionRequest
from portal.services.staff import remote

LABELS = {
    "trigger_status": _l("Ask for its status"),
    "soft_reset": _l("Soft reset"),
    "hard_reset": _l("Hard reset"),
    "unlock": _l("Unlock the outlet"),
    "availability_off": _l("Availability off"),
    "availability_on": _l("Availability on"),
}
BY_CAUSE = {
    "faulted": ("trigger_status", "soft_reset", "unlock", "hard_reset"),
    "suspended_evse": ("trigger_status", "availability_off", "availability_on", "soft_reset"),
    "unavailable": ("trigger_status", "availability_on", "soft_reset"),
    "failed_starts": ("trigger_status", "unlock", "soft_reset", "hard_reset"),
    "offline": ("trigger_status", "hard_reset"),
    "site_dark": (),
}


def offered(incident: Incident) -> tuple[str, ...]:
    return BY_CAUSE.get(incident.cause, ()) if incident.charge_point_id else ()


def _request(session: Session, staff: User, cp: ChargePoint, step: str, connector: int | None,
             reason: str) -> ActionRequest:
    if step == "trigger_status":
        return remote.trigger(session, staff, cp, "StatusNotification", connector, reason)
    if step in ("soft_reset", "hard_reset"):
        return remote.reset(session, staff, cp, "Soft" if step == "soft_reset" else "Hard", reason)
    if step == "unlock":
        return remote.unlock(session, staff, cp, connector or 1, reason)
    return remote.availability(session, staff, cp, step == "availability_on", reason)


def try_step(session: Session, staff: User, incident: Incident, step: str) -> IncidentStep:
    """Ask the charger (a staff remote action, audited); raises remote.RemoteRefused."""
    if step not in offered(incident):
        raise remote.RemoteRefused("bad_choice")
    row = _request(session, staff, incident.charge_point, step, incident.connector_id,
                   f"incident #{incident.id}: {step}")
    tried = IncidentStep(incident_id=incident.id, step=step, action_request_id=row.id, by_id=staff.id)
    session.add(tried)
    session.flush()
    return tried


def tried(session: Session, incident: Incident) -> list[IncidentStep]:
    return list(session.scalars(select(IncidentStep).where(IncidentStep.incident_id == incident.id)
                                .order_by(IncidentStep.id)))


# Causes a soft reset usually clears; a site may allow one automatic try per incident.
AUTO_RESET_CAUSES = ("faulted", "suspended_evse", "unavailable")


def auto_soft_reset(session: Session, incident: Incident, allowed: bool) -> IncidentStep | None:
    """One automatic soft reset of a new incident's charger, when the site allows it and the cause is one
    a reset clears; never while a session runs on the charger, never twice. The caller commits and enqueues."""
    from portal.models import Transaction
    from portal.services.charging import actions

    cp = incident.charge_point
    if not allowed or incident.cause not in AUTO_RESET_CAUSES or cp is None or not cp.online:
        return None
    if session.scalar(select(Transaction.id).where(Transaction.charge_point_id == cp.id,
                                                   Transaction.status == "active").limit(1)) is not None:
        return None
    if session.scalar(select(IncidentStep.id).where(IncidentStep.incident_id == incident.id,
                                                    IncidentStep.automatic.is_(True))) is not None:
        return None
    row = actions.create_action(session, charge_point=cp, action="Reset", payload={"type": "Soft"})
    row.reason = f"incident #{incident.id}: automatic soft reset"
    step = IncidentStep(incident_id=incident.id, step="soft_reset", action_request_id=row.id, automatic=True)
    session.add(step)
    session.flush()
    return step
