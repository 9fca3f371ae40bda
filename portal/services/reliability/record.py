"""Reading the record for the uptime figures: a site's month, from connector_status_changes,
charger_connection_changes, incidents, maintenance_windows, action_requests and transactions (read only).

The pure arithmetic is in uptime.py and first_start.py; this module only gathers their input.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from portal.models import (
    ActionRequest, ChargePoint, ChargerConnectionChange, Connector, ConnectorStatusChange, Incident,
    MaintenanceWindow, Site, Transaction, User,
)
from portal.services.reliability.first_start import Start, Success, by_key
from portal.services.reliability.uptime import (
    Blame, Change, ConnectorRecord, Figures, Span, connector_figures, month_bounds, total,
)


@dataclass
class ConnectorRow:
    connector_id: int
    figures: Figures
    success: Success


@dataclass
class ChargerRow:
    charge_point: ChargePoint
    connectors: list[ConnectorRow]
    figures: Figures
    success: Success


@dataclass
class SiteMonth:
    """One site's month: the whole site, each charger, each connector, and the maintenance shown."""

    site: Site
    year: int
    month: int
    figures: Figures
    success: Success
    chargers: list[ChargerRow]
    maintenance: list[MaintenanceWindow] = field(default_factory=list)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _changes(session: Session, model, keys: tuple, value: str, cp_ids: list[int], start, end) -> dict:
    """Rows of `model` per key in [start, end), plus the last row before `start` of each key."""
    key_cols = [getattr(model, k) for k in keys]
    before = (select(*key_cols, func.max(model.at).label("last"))
              .where(model.charge_point_id.in_(cp_ids), model.at < start).group_by(*key_cols).subquery())
    last = select(model).join(before, and_(*(getattr(before.c, k) == getattr(model, k) for k in keys),
                                           before.c.last == model.at))
    inside = select(model).where(model.charge_point_id.in_(cp_ids), model.at >= start, model.at < end)
    found: dict = defaultdict(list)
    for query in (last, inside):
        for row in session.scalars(query.order_by(model.at, model.id)):
            found[tuple(getattr(row, k) for k in keys)].append(Change(_aware(row.at), getattr(row, value)))
    return found


def _spans(session: Session, site: Site, start, end) -> tuple[list[MaintenanceWindow], list[Incident]]:
    windows = list(session.scalars(select(MaintenanceWindow).where(
        MaintenanceWindow.site_id == site.id, MaintenanceWindow.starts_at < end,
        MaintenanceWindow.ends_at > start).order_by(MaintenanceWindow.starts_at)))
    incidents = list(session.scalars(select(Incident).where(
        Incident.site_id == site.id, Incident.started_at < end,
        or_(Incident.resolved_at.is_(None), Incident.resolved_at > start))))
    return windows, incidents


def _blames(incidents: list[Incident], cp_id: int, connector_id: int) -> list[Blame]:
    def covers(i: Incident) -> bool:
        return i.scope == "site" or (i.charge_point_id == cp_id and (
            i.scope == "charger" or i.connector_id == connector_id))

    return [Blame(_aware(i.started_at), _aware(i.resolved_at) if i.resolved_at else None, i.scope,
                  i.downtime_owner) for i in incidents if covers(i)]


def _connector_ids(session: Session, cp_ids: list[int], statuses: dict) -> dict[int, set[int]]:
    ids: dict[int, set[int]] = defaultdict(set)
    for cp_id, number in session.execute(select(Connector.charge_point_id, Connector.connector_id)
                                         .where(Connector.charge_point_id.in_(cp_ids))):
        if number >= 1:
            ids[cp_id].add(number)
    for cp_id, number in statuses:
        if number >= 1:
            ids[cp_id].add(number)
    return ids


def starts(session: Session, cp_ids: list[int], begin: datetime, end: datetime) -> list[Start]:
    """Residents' remote start requests and sessions on the chargers (staff's own starts left out)."""
    resident = User.staff_role.is_(None)
    requests = session.execute(
        select(ActionRequest.requested_by_id, ActionRequest.charge_point_id, ActionRequest.connector_id,
               ActionRequest.created_at, Transaction.energy_wh)
        .join(User, User.id == ActionRequest.requested_by_id)
        .outerjoin(Transaction, Transaction.id == ActionRequest.transaction_id)
        .where(ActionRequest.action == "RemoteStartTransaction", ActionRequest.charge_point_id.in_(cp_ids),
               ActionRequest.created_at >= begin, ActionRequest.created_at < end, resident))
    sessions = session.execute(
        select(Transaction.user_id, Transaction.charge_point_id, Transaction.connector_id, Transaction.started_at,
               Transaction.energy_wh).join(User, User.id == Transaction.user_id)
        .where(Transaction.charge_point_id.in_(cp_ids), Transaction.started_at >= begin,
               Transaction.started_at < end, resident))
    return [Start(u, cp, conn, _aware(at), wh) for u, cp, conn, at, wh in [*requests, *sessions]]


def site_month(session: Session, site: Site, year: int, month: int, now: datetime | None = None) -> SiteMonth:
    """The uptime and first-time success of `site` in one month (its own time zone), up to `now`."""
    now = now or datetime.now(timezone.utc)
    zone = ZoneInfo(site.timezone)
    start, end = month_bounds(year, month, zone)
    cps = list(session.scalars(select(ChargePoint).where(ChargePoint.site_id == site.id)
                               .order_by(ChargePoint.name, ChargePoint.identity)))
    cp_ids = [cp.id for cp in cps]
    statuses = _changes(session, ConnectorStatusChange, ("charge_point_id", "connector_id"), "status",
                        cp_ids, start, end)
    links = _changes(session, ChargerConnectionChange, ("charge_point_id",), "state", cp_ids, start, end)
    windows, incidents = _spans(session, site, start, end)
    tries = starts(session, cp_ids, start - timedelta(days=1), end)
    success = by_key(tries, zone, start, end, key=lambda s: (s.charge_point_id, s.connector_id))
    numbers = _connector_ids(session, cp_ids, statuses)
    rows = []
    for cp in cps:
        maintenance = [Span(_aware(w.starts_at), _aware(w.ends_at), w.reason) for w in windows
                       if w.charge_point_id in (None, cp.id)]
        connectors = []
        for number in sorted(numbers[cp.id]):
            record = ConnectorRecord(statuses.get((cp.id, number), []), statuses.get((cp.id, 0), []),
                                     links.get((cp.id,), []), maintenance, _blames(incidents, cp.id, number))
            connectors.append(ConnectorRow(number, connector_figures(record, start, end, now),
                                           success.get((cp.id, number), Success())))
        unplaced = success.get((cp.id, None), Success())  # requests naming no connector
        rows.append(ChargerRow(cp, connectors, total([c.figures for c in connectors]),
                               sum((c.success for c in connectors), unplaced)))
    return SiteMonth(site, year, month, total([r.figures for r in rows]),
                     sum((r.success for r in rows), Success()), rows, windows)


def previous_months(year: int, month: int, count: int) -> list[tuple[int, int]]:
    """`count` months ending with (year, month), oldest first."""
    months = []
    for _ in range(count):
        months.append((year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months[::-1]


def trend(session: Session, site: Site, year: int, month: int, count: int = 12,
          now: datetime | None = None) -> list[tuple[int, int, float | None]]:
    """The site's uptime month by month, `count` months up to (year, month)."""
    return [(y, m, site_month(session, site, y, m, now).figures.uptime)
            for y, m in previous_months(year, month, count)]
