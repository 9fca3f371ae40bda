"""Opening, touching, recovering and resolving incidents: one row per cause while it lasts.

``open_key`` (unique while the incident is not resolved) names the cause and where it is, so two
evaluations at once (two workers) make one incident: the loser of the INSERT finds the winner's row. A
repeat while the incident is recovering takes it back to open; once resolved (open_key cleared) the same
cause makes a new incident with a new ticket, and the old ticket is never reopened.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.models import Incident

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Where:
    """What an incident is about: a site, and maybe a charger and one of its connectors."""

    site_id: int
    charge_point_id: int | None = None
    connector_id: int | None = None

    @property
    def scope(self) -> str:
        if self.charge_point_id is None:
            return "site"
        return "charger" if not self.connector_id else "connector"


def open_key(where: Where, cause: str) -> str:
    if where.scope == "site":
        return f"site:{where.site_id}:{cause}"
    if where.scope == "charger":
        return f"cp:{where.charge_point_id}:{cause}"
    return f"cp:{where.charge_point_id}:{where.connector_id}:{cause}"


def current(session: Session, where: Where, cause: str) -> Incident | None:
    return session.scalar(select(Incident).where(Incident.open_key == open_key(where, cause)))


@dataclass(frozen=True)
class Seen:
    """The fault as the rule saw it: since when, its newest sign, how many signs since it began, and what
    the charger said."""

    started_at: datetime
    last_at: datetime
    events: int = 1
    error_code: str = ""
    vendor_error_code: str = ""
    info: str = ""


def report(session: Session, where: Where, cause: str, seen: Seen, now: datetime) -> tuple[Incident, bool]:
    """The fault is there: its open incident is touched, else a new one made. (incident, created)."""
    incident = current(session, where, cause)
    if incident is not None:
        touch(incident, seen)
        return incident, False
    incident = Incident(
        site_id=where.site_id, charge_point_id=where.charge_point_id, connector_id=where.connector_id,
        scope=where.scope, cause=cause, status="open", open_key=open_key(where, cause),
        started_at=seen.started_at, opened_at=now, last_event_at=seen.last_at, events=max(seen.events, 1),
        error_code=seen.error_code[:32], vendor_error_code=seen.vendor_error_code[:50], info=seen.info[:50])
    try:
        with session.begin_nested():
            session.add(incident)
            session.flush()
    except IntegrityError:
        log.info("incident %s opened meanwhile by another evaluation", incident.open_key)
        incident = current(session, where, cause)
        if incident is None:
            raise
        touch(incident, seen)
        return incident, False
    return incident, True


def touch(incident: Incident, seen: Seen) -> None:
    """Another look at the same fault: its signs counted (seen.events: all since it began), its newest
    sign kept; a recovering incident whose fault showed again is open again."""
    incident.events = max(incident.events or 0, seen.events)
    if seen.last_at > incident.last_event_at:
        incident.last_event_at = seen.last_at
        if seen.error_code:
            incident.error_code = seen.error_code[:32]
            incident.vendor_error_code, incident.info = seen.vendor_error_code[:50], seen.info[:50]
    if incident.status == "recovering" and incident.recovering_since is not None \
            and seen.last_at > incident.recovering_since:
        incident.status, incident.recovering_since = "open", None


def well_since(incident: Incident, since: datetime, now: datetime, recovery_after_s: int) -> bool:
    """The cause is gone since `since`: recovering, and True when that has lasted long enough to resolve."""
    if since < incident.last_event_at:
        return False
    if incident.status == "open":
        incident.status, incident.recovering_since = "recovering", since
    return (now - (incident.recovering_since or since)).total_seconds() >= recovery_after_s


def resolve(incident: Incident, now: datetime, by: str = "charger") -> None:
    incident.status, incident.resolved_at, incident.resolved_by, incident.open_key = "resolved", now, by, None


def open_incidents(session: Session, cause: str | None = None) -> list[Incident]:
    query = select(Incident).where(Incident.status != "resolved")
    if cause:
        query = query.where(Incident.cause == cause)
    return list(session.scalars(query.order_by(Incident.id)))
