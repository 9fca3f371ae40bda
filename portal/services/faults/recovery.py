"""Whole sites going dark, and incidents recovering: the rules that look at many chargers at once.

A site is dark when every one of its chargers (two or more) went offline within
INCIDENT_SITE_DARK_WINDOW_S of each other and stayed so: one site incident, whose likely cause (all at
once, nothing else wrong before) is the site's power or network. An incident recovers when its cause is
gone (the connector reports an available or charging state, the charger is back online) and resolves
after the site's recovery time; a repeat meanwhile takes it back to open (incidents.touch).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import settings
from portal.models import ChargePoint, ConnectorStatusChange, Incident
from portal.services.faults import incidents as inc
from portal.services.faults.history import last_connection
from portal.services.faults.rules import SITE_DARK_CONFIRM_S, WELL, Evaluation
from portal.services.faults.thresholds import SiteThresholds

ALL_AT_ONCE = "all_at_once"  # the site incident's info: the likely cause is the site's power or network


def _chargers_by_site(session: Session) -> dict[int, list[ChargePoint]]:
    sites: dict[int, list[ChargePoint]] = defaultdict(list)
    for cp in session.scalars(select(ChargePoint).where(ChargePoint.enabled.is_(True))):
        sites[cp.site_id].append(cp)
    return sites


def _faults_before(session: Session, cps: list[ChargePoint], since: datetime, until: datetime) -> bool:
    return session.scalar(select(ConnectorStatusChange.id).where(
        ConnectorStatusChange.charge_point_id.in_([cp.id for cp in cps]), ConnectorStatusChange.status == "Faulted",
        ConnectorStatusChange.at >= since, ConnectorStatusChange.at < until).limit(1)) is not None


def site_dark(session: Session, now: datetime, out: Evaluation) -> None:
    """One incident for a site whose chargers all went offline within minutes."""
    window = int(settings.get("incident_site_dark_window_s"))
    for site_id, cps in _chargers_by_site(session).items():
        if len(cps) < 2 or any(cp.online or cp.offline_since is None for cp in cps):
            continue
        first, last = min(cp.offline_since for cp in cps), max(cp.offline_since for cp in cps)
        if (last - first).total_seconds() > window or (now - last).total_seconds() < SITE_DARK_CONFIRM_S:
            continue
        at_once = not _faults_before(session, cps, first - timedelta(hours=1), first)
        seen = inc.Seen(first, last, len(cps), info=ALL_AT_ONCE if at_once else "")
        incident, created = inc.report(session, inc.Where(site_id), "site_dark", seen, now)
        if created:
            out.opened.append(incident)


def _connector_well_since(session: Session, incident: Incident) -> datetime | None:
    cp = incident.charge_point
    conn = cp.connector(incident.connector_id or 0) if cp is not None else None
    if conn is None or conn.status not in WELL or conn.status_at is None:
        return None
    return conn.status_at


def _charger_back_since(session: Session, cp: ChargePoint | None) -> datetime | None:
    if cp is None or not cp.online:
        return None
    last = last_connection(session, cp.id)
    return last.at if last is not None and last.state == "connected" else cp.last_seen_at


def _site_back_since(session: Session, incident: Incident, sites: dict[int, list[ChargePoint]]) -> datetime | None:
    backs = [_charger_back_since(session, cp) for cp in sites.get(incident.site_id, [])]
    if not backs or any(b is None for b in backs):
        return None
    return max(backs)


def _well_since(session: Session, incident: Incident, sites: dict) -> datetime | None:
    if incident.cause == "site_dark":
        return _site_back_since(session, incident, sites)
    if incident.cause == "offline":
        return _charger_back_since(session, incident.charge_point)
    if incident.cause == "failed_starts":
        from portal.services.faults.failed_starts import charged_since

        return charged_since(session, incident)
    return _connector_well_since(session, incident)


def recover(session: Session, now: datetime, limits: SiteThresholds, out: Evaluation) -> None:
    """Open incidents whose cause is gone recover, and resolve once that has lasted the recovery time."""
    sites = _chargers_by_site(session)
    for incident in inc.open_incidents(session):
        since = _well_since(session, incident, sites)
        if since is None:
            if incident.status == "recovering":
                incident.status, incident.recovering_since = "open", None
            continue
        if inc.well_since(incident, min(since, now), now, limits.of(incident.site_id).recovery_after_s):
            inc.resolve(incident, now)
            out.resolved.append(incident)
