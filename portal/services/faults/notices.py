"""What residents and boards are told of incidents: the open ones of a charger or a site, and "me too"
(a resident who met the fault follows the incident's ticket instead of opening a new one)."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.models import Incident, IncidentFollower, User
from portal.services.faults.story import system_message


def of_charger(session: Session, cp_id: int, site_id: int) -> list[Incident]:
    """Open incidents a charger's start screen mentions: its own, and its site's outage."""
    return list(session.scalars(select(Incident).where(
        Incident.status != "resolved",
        or_(Incident.charge_point_id == cp_id, (Incident.site_id == site_id) & (Incident.scope == "site")))
        .order_by(Incident.started_at)))


def of_site(session: Session, site_id: int) -> list[Incident]:
    return list(session.scalars(select(Incident).where(Incident.site_id == site_id, Incident.status != "resolved")
                                .order_by(Incident.started_at)))


def site_outage(session: Session, site_id: int) -> Incident | None:
    return session.scalar(select(Incident).where(Incident.site_id == site_id, Incident.cause == "site_dark",
                                                 Incident.status != "resolved").limit(1))


def follows(session: Session, incident: Incident, user: User) -> bool:
    return session.scalar(select(IncidentFollower.id).where(IncidentFollower.incident_id == incident.id,
                                                            IncidentFollower.user_id == user.id)) is not None


def me_too(session: Session, incident: Incident, user: User) -> bool:
    """The resident follows the incident (once); its ticket gets an internal note. False when already."""
    if follows(session, incident, user):
        return False
    try:
        with session.begin_nested():
            session.add(IncidentFollower(incident_id=incident.id, user_id=user.id))
            session.flush()
    except IntegrityError:
        return False
    if incident.ticket is not None and incident.ticket.status != "closed":
        system_message(session, incident.ticket, f"Me too: {user.name or user.email} <{user.email}>", internal=True)
    session.flush()
    return True


def tell_followers(session: Session, incident: Incident) -> list[int]:
    """The residents who said "me too" hear that the fault is cleared, each in their language (outbox ids)."""
    from portal.services.people.mail import portal_url, queue_templated_email

    cp = incident.charge_point
    if cp is None:
        return []
    followers = session.scalars(select(User).join(IncidentFollower, IncidentFollower.user_id == User.id)
                                .where(IncidentFollower.incident_id == incident.id).order_by(User.id))
    url = portal_url("resident.start_screen", identity=cp.identity)
    return [queue_templated_email(session, to=user.email, template="incident_fixed", language=user.language or "nb",
                                  charger=cp.display_name, name=user.name or user.email,
                                  since=incident.recovering_since or incident.resolved_at, start_url=url).id
            for user in followers if user.email]
