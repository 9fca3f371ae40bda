"""The status overview: what needs a look across all sites (or one), for the console's landing page."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session, selectinload

from portal.db import utcnow
from portal.models import ActionRequest, ChargePoint, Connector, OrphanStop, Transaction
from portal.services.charging import after_close

LONG_SESSION = timedelta(hours=14)
QUIET_SESSION = timedelta(minutes=30)
RECENT_ACTIONS = timedelta(hours=24)
LIMIT = 100


@dataclass
class Overview:
    troubled: list[tuple[ChargePoint, str, datetime | None]] = field(default_factory=list)
    long_sessions: list[tuple[Transaction, str]] = field(default_factory=list)
    failed_actions: list[ActionRequest] = field(default_factory=list)
    orphan_stops: list[OrphanStop] = field(default_factory=list)
    meter_flags: list[Transaction] = field(default_factory=list)
    still_charging: list[Transaction] = field(default_factory=list)  # closed by hand, the charger goes on
    after_close_energy: list[Transaction] = field(default_factory=list)  # reported after a hand close, to review

    @property
    def count(self) -> int:
        return sum(len(x) for x in (self.troubled, self.long_sessions, self.failed_actions,
                                    self.orphan_stops, self.meter_flags, self.still_charging,
                                    self.after_close_energy))


def _site_filter(query, site_id: int | None, column=ChargePoint.site_id):
    return query if site_id is None else query.where(column == site_id)


def troubled_chargers(session: Session, site_id: int | None) -> list[tuple[ChargePoint, str, datetime | None]]:
    """Chargers offline (since when) or with a faulted connector (since its status time)."""
    rows: list[tuple[ChargePoint, str, datetime | None]] = []
    offline = _site_filter(select(ChargePoint).where(ChargePoint.online.is_(False)), site_id)
    for cp in session.scalars(offline.options(selectinload(ChargePoint.site)).order_by(
            ChargePoint.offline_since.is_(None), ChargePoint.offline_since).limit(LIMIT)):
        rows.append((cp, "offline", cp.offline_since or cp.last_seen_at))
    faulted = _site_filter(
        select(ChargePoint, func.min(Connector.status_at)).join(Connector, Connector.charge_point_id == ChargePoint.id)
        .where(ChargePoint.online.is_(True), Connector.status == "Faulted").group_by(ChargePoint.id), site_id)
    for cp, since in session.execute(faulted.limit(LIMIT)):
        rows.append((cp, "faulted", since))
    return rows


def long_or_quiet_sessions(session: Session, site_id: int | None, now: datetime) -> list[tuple[Transaction, str]]:
    """Running sessions older than LONG_SESSION, or with no meter value for QUIET_SESSION."""
    query = _site_filter(
        select(Transaction).join(ChargePoint, ChargePoint.id == Transaction.charge_point_id)
        .where(Transaction.status == "active"), site_id).order_by(Transaction.started_at).limit(LIMIT * 5)
    out: list[tuple[Transaction, str]] = []
    for tx in session.scalars(query):
        if _aware(tx.started_at) < now - LONG_SESSION:
            out.append((tx, "long"))
            continue
        last = last_meter_at(session, tx)
        if _aware(last or tx.started_at) < now - QUIET_SESSION:
            out.append((tx, "quiet"))
    return out[:LIMIT]


def last_meter_at(session: Session, tx: Transaction) -> datetime | None:
    from portal.models import MeterValue

    return session.scalar(select(func.max(MeterValue.timestamp)).where(MeterValue.transaction_id == tx.id))


def _aware(moment: datetime) -> datetime:
    from datetime import timezone

    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def failed_actions(session: Session, site_id: int | None, now: datetime) -> list[ActionRequest]:
    """Requests of the last day that timed out, or remote starts accepted without a session."""
    query = _site_filter(
        select(ActionRequest).join(ChargePoint, ChargePoint.id == ActionRequest.charge_point_id)
        .where(ActionRequest.created_at > now - RECENT_ACTIONS,
               or_(ActionRequest.state == "timed_out", ActionRequest.no_start_flag.is_(True))), site_id)
    return list(session.scalars(query.order_by(ActionRequest.id.desc()).limit(LIMIT)))


def open_orphan_stops(session: Session, site_id: int | None) -> list[OrphanStop]:
    query = _site_filter(
        select(OrphanStop).join(ChargePoint, ChargePoint.id == OrphanStop.charge_point_id)
        .where(OrphanStop.reviewed_at.is_(None)), site_id)
    return list(session.scalars(query.order_by(OrphanStop.id.desc()).limit(LIMIT)))


def open_meter_flags(session: Session, site_id: int | None) -> list[Transaction]:
    query = _site_filter(
        select(Transaction).join(ChargePoint, ChargePoint.id == Transaction.charge_point_id)
        .where(Transaction.meter_flags.is_not(None), cast(Transaction.meter_flags, String).not_in(("[]", "null")),
               Transaction.flag_reviewed_at.is_(None),
               Transaction.access_decision.is_(None) | (Transaction.access_decision == "ok")), site_id)
    return list(session.scalars(query.order_by(Transaction.id.desc()).limit(LIMIT)))


def overview(session: Session, site_id: int | None = None, now: datetime | None = None) -> Overview:
    now = now or utcnow()
    return Overview(
        troubled=troubled_chargers(session, site_id),
        long_sessions=long_or_quiet_sessions(session, site_id, now),
        failed_actions=failed_actions(session, site_id, now),
        orphan_stops=open_orphan_stops(session, site_id),
        meter_flags=open_meter_flags(session, site_id),
        still_charging=after_close.still_reported(session, now, site_id=site_id, limit=LIMIT),
        after_close_energy=after_close.energy_to_review(session, site_id, limit=LIMIT),
    )
