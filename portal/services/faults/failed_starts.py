"""Repeated failed starts on an outlet: remote starts the charger rejected, starts it accepted but never
began, and sessions under a minute with no energy. INCIDENT_FAILED_STARTS of them (per site) within
INCIDENT_FAILED_STARTS_WINDOW_S make one incident; a session that delivers energy afterwards lets it recover."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from portal.models import ActionRequest, ChargePoint, Incident, Transaction
from portal.services.faults import incidents as inc
from portal.services.faults.rules import Evaluation
from portal.services.faults.thresholds import SiteThresholds

SHORT = timedelta(minutes=1)
START = "RemoteStartTransaction"


def _failures(session: Session, since: datetime, now: datetime) -> dict[tuple[int, int], list[datetime]]:
    found: dict[tuple[int, int], list[datetime]] = defaultdict(list)
    refused = session.execute(select(ActionRequest.charge_point_id, ActionRequest.connector_id, ActionRequest.created_at)
                              .where(ActionRequest.action == START, ActionRequest.created_at > since,
                                     ActionRequest.created_at <= now,
                                     or_(ActionRequest.state == "rejected", ActionRequest.no_start_flag.is_(True))))
    for cp_id, connector_id, at in refused:
        found[(cp_id, connector_id or 0)].append(at)
    short = session.execute(select(Transaction.charge_point_id, Transaction.connector_id, Transaction.started_at,
                                   Transaction.stopped_at)
                            .where(Transaction.started_at > since, Transaction.started_at <= now,
                                   Transaction.status == "completed", Transaction.energy_wh == 0))
    for cp_id, connector_id, started, stopped in short:
        if stopped is not None and stopped - started < SHORT:
            found[(cp_id, connector_id)].append(stopped)
    return found


def failed_starts(session: Session, now: datetime, limits: SiteThresholds, out: Evaluation) -> None:
    window = timedelta(seconds=max(limits.base.failed_starts_window_s, 60))
    for (cp_id, connector_id), times in _failures(session, now - window, now).items():
        cp = session.get(ChargePoint, cp_id)
        if cp is None or len(times) < limits.of(cp.site_id).failed_starts:
            continue
        times.sort()
        where = inc.Where(cp.site_id, cp.id, connector_id or None)
        incident, created = inc.report(session, where, "failed_starts", inc.Seen(times[0], times[-1], len(times)), now)
        if created:
            out.opened.append(incident)


def charged_since(session: Session, incident: Incident) -> datetime | None:
    """The start of a session on the outlet that delivered energy after the last failed start."""
    query = select(Transaction.started_at).where(
        Transaction.charge_point_id == incident.charge_point_id, Transaction.started_at > incident.last_event_at,
        or_(Transaction.energy_wh > 0, Transaction.meter_last_wh > Transaction.meter_start_wh))
    if incident.connector_id:
        query = query.where(Transaction.connector_id == incident.connector_id)
    return session.scalar(query.order_by(Transaction.started_at).limit(1))
