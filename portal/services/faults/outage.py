"""A site outage told to its residents and board by e-mail: once when it began, once when it is over.

On a flapping site a new outage within INCIDENT_OUTAGE_MAIL_QUIET_S of the last one told is not told
again (and so neither is its end). Each recipient gets the e-mail in their own language. Needs an app
context (templates); the caller commits, then enqueues the returned outbox ids.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import settings
from portal.models import Incident, Membership, User
from portal.services.people.mail import portal_url, queue_templated_email


def recipients(session: Session, site_id: int) -> list[User]:
    return list(session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                                .where(Membership.site_id == site_id).distinct().order_by(User.id)))


def _told_lately(session: Session, incident: Incident, now: datetime) -> bool:
    quiet = timedelta(seconds=int(settings.get("incident_outage_mail_quiet_s")))
    return session.scalar(select(Incident.id).where(
        Incident.site_id == incident.site_id, Incident.cause == "site_dark", Incident.id != incident.id,
        Incident.notified_at.is_not(None), Incident.notified_at > now - quiet).limit(1)) is not None


def _send(session: Session, incident: Incident, over: bool) -> list[int]:
    site = incident.site
    url = portal_url("resident.site_page", slug=site.slug)
    return [queue_templated_email(session, to=user.email, template="site_outage", language=user.language or "nb",
                                  kind="site_outage_over" if over else "site_outage", site=site, over=over,
                                  incident=incident, name=user.name or user.email, site_url=url).id
            for user in recipients(session, site.id) if user.email]


def began(session: Session, incident: Incident, now: datetime) -> list[int]:
    if incident.notified_at is not None or _told_lately(session, incident, now):
        return []
    incident.notified_at = now
    return _send(session, incident, over=False)


def ended(session: Session, incident: Incident, now: datetime) -> list[int]:
    if incident.notified_at is None or incident.notified_over_at is not None:
        return []
    incident.notified_over_at = now
    return _send(session, incident, over=True)
