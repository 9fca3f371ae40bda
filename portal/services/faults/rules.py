"""The rules that find incidents in what chargers reported, run every minute by worker/jobs/faults.py.

Each rule reads the history or the current state in a few queries, reports the faults it sees
(incidents.report: one incident per cause, whatever the number of messages) and lets incidents whose
cause is gone recover and resolve after the site's recovery time. ``now`` is a parameter, so tests move
the clock of the rules rather than wait.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import ActionRequest, ChargePoint, Connector, ConnectorStatusChange, Incident
from portal.services.faults import incidents as inc
from portal.services.faults.thresholds import SiteThresholds

# A worker that was down this long still finds the faults reported meanwhile in the history.
LOOKBACK = timedelta(days=2)
WELL = ("Available", "Preparing", "Charging", "SuspendedEV", "Finishing")
HELD_BACK = {"SuspendedEVSE": "suspended_evse", "Unavailable": "unavailable"}
CONNECTOR_CAUSES = ("faulted", "suspended_evse", "unavailable")
SITE_DARK_CONFIRM_S = 120  # a node restart drops every socket for seconds: not an outage


@dataclass
class Evaluation:
    opened: list[Incident] = field(default_factory=list)
    resolved: list[Incident] = field(default_factory=list)


def _where(cp: ChargePoint, connector_id: int) -> inc.Where:
    return inc.Where(cp.site_id, cp.id, connector_id or None)


def _resolved_marks(session: Session, cause: str) -> dict[tuple, datetime]:
    """The last sign of each resolved incident of a cause, by (charger, connector): older rows are done."""
    rows = session.execute(select(Incident.charge_point_id, Incident.connector_id, func.max(Incident.last_event_at))
                           .where(Incident.cause == cause, Incident.status == "resolved")
                           .group_by(Incident.charge_point_id, Incident.connector_id))
    return {(cp_id, conn or 0): at for cp_id, conn, at in rows}


def faulted(session: Session, now: datetime, out: Evaluation) -> None:
    """Every Faulted report in the history since the last incident of the connector ended."""
    table = ConnectorStatusChange
    rows = session.scalars(select(table).where(table.status == "Faulted", table.at > now - LOOKBACK,
                                               table.at <= now).order_by(table.at, table.id))
    by_connector: dict[tuple, list[ConnectorStatusChange]] = defaultdict(list)
    for row in rows:
        by_connector[(row.charge_point_id, row.connector_id)].append(row)
    done = _resolved_marks(session, "faulted")
    for (cp_id, connector_id), found in by_connector.items():
        cp = session.get(ChargePoint, cp_id)
        where = _where(cp, connector_id)
        incident = inc.current(session, where, "faulted")
        if incident is not None:
            found = [r for r in found if r.at >= incident.started_at]
        elif (mark := done.get((cp_id, connector_id))) is not None:
            found = [r for r in found if r.at > mark]
        if not found:
            continue
        last = found[-1]
        seen = inc.Seen(found[0].at, last.at, len(found), last.error_code, last.vendor_error_code, last.info)
        incident, created = inc.report(session, where, "faulted", seen, now)
        if created:
            out.opened.append(incident)


def _asked_unavailable(session: Session, cp: ChargePoint, connector_id: int) -> bool:
    """Did we make it unavailable: a disabled charger, or our last ChangeAvailability said Inoperative?"""
    if not cp.enabled:
        return True
    last = session.scalar(select(ActionRequest).where(
        ActionRequest.charge_point_id == cp.id, ActionRequest.action == "ChangeAvailability",
        ActionRequest.connector_id.in_((0, connector_id)), ActionRequest.state.in_(("sent", "accepted")))
        .order_by(ActionRequest.created_at.desc(), ActionRequest.id.desc()).limit(1))
    return last is not None and (last.payload or {}).get("type") == "Inoperative"


def held_back(session: Session, now: datetime, limits: SiteThresholds, out: Evaluation) -> None:
    """SuspendedEVSE, or Unavailable we did not ask for, for longer than the site's threshold."""
    rows = session.execute(select(Connector, ChargePoint).join(ChargePoint, Connector.charge_point_id == ChargePoint.id)
                           .where(Connector.status.in_(tuple(HELD_BACK)), ChargePoint.online.is_(True)))
    for conn, cp in rows:
        since = conn.status_at or now
        if (now - since).total_seconds() < limits.of(cp.site_id).suspended_after_s:
            continue
        if conn.status == "Unavailable" and _asked_unavailable(session, cp, conn.connector_id):
            continue
        seen = inc.Seen(since, since, 1, conn.error_code or "", conn.vendor_error_code or "", conn.info or "")
        incident, created = inc.report(session, _where(cp, conn.connector_id), HELD_BACK[conn.status], seen, now)
        if created:
            out.opened.append(incident)


def _site_dark_ids(session: Session) -> set[int]:
    return set(session.scalars(select(Incident.site_id).where(Incident.cause == "site_dark",
                                                               Incident.status != "resolved")))


def offline(session: Session, now: datetime, limits: SiteThresholds, out: Evaluation) -> None:
    """Chargers offline (socket closed, or marked after missed heartbeats) for N heartbeat intervals;
    not while their whole site is dark (that is one site incident)."""
    dark = _site_dark_ids(session)
    for cp in session.scalars(select(ChargePoint).where(ChargePoint.online.is_(False),
                                                        ChargePoint.last_seen_at.is_not(None))):
        if cp.site_id in dark:
            continue
        silent_from = cp.last_seen_at
        if (now - silent_from).total_seconds() <= limits.of(cp.site_id).offline_heartbeats * cp.heartbeat_interval:
            continue
        seen = inc.Seen(silent_from, silent_from)
        incident, created = inc.report(session, inc.Where(cp.site_id, cp.id), "offline", seen, now)
        if created:
            out.opened.append(incident)
