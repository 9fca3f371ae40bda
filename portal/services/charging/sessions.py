"""A resident's charging sessions: live figures while charging, history, monthly totals, CSV.

Plain functions over a Session (no Flask); the cost of a running session uses its price snapshot.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, joinedload

from portal.models import ActionRequest, ChargePoint, MeterValue, Site, Transaction
from portal.services.billing.csv_export import csv_text
from portal.services.charging.metering import to_wh
from portal.services.billing.pricing import Cost, format_amount, from_minor, session_cost

log = logging.getLogger(__name__)

ENERGY_REGISTER = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
START_ACTION = "RemoteStartTransaction"
STOP_ACTION = "RemoteStopTransaction"
CHART_POINTS = 60  # the newest readings drawn; keeps the live fragment (polled) under 2 KiB


@dataclass(frozen=True)
class LiveFigures:
    energy_wh: int
    power_w: int | None
    duration: timedelta
    cost: Cost
    samples: list[tuple[datetime, int]]  # power over time (W), oldest first


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def energy_so_far(tx: Transaction) -> int:
    """Wh delivered: the billed energy when finished, else the newest register reading minus the start."""
    if not tx.is_active:
        return tx.energy_wh or 0
    last = tx.meter_last_wh if tx.meter_last_wh is not None else tx.meter_start_wh
    return max(last - tx.meter_start_wh, 0)


def cost_so_far(session: Session, tx: Transaction, energy_wh: int) -> Cost:
    """What the session costs up to now, by the price it started with (never below its minimum price)."""
    if not tx.is_active and tx.cost_minor is not None:
        return Cost(tx.cost_minor, tx.vat_minor or 0, tx.cost_minor, False)
    if tx.pricing_type == "spot":
        try:
            from portal.services.charging.metering import register_readings
            from portal.services.billing.spot import spot_cost

            readings = register_readings(session, tx)
            if readings:
                return spot_cost(session, tx, readings)
        except Exception:  # noqa: BLE001 - an estimate must never break the live page
            log.exception("spot estimate failed for transaction %s", tx.id)
        return session_cost(energy_wh, tx.spot_fallback, tx.min_price_minor, tx.vat_rate_bp)
    return session_cost(energy_wh, tx.energy_fee, tx.min_price_minor, tx.vat_rate_bp)


def _to_watts(value: Decimal, unit: str | None) -> int:
    return int(value * 1000) if (unit or "W") == "kW" else int(value)


def power_samples(session: Session, tx: Transaction, limit: int = CHART_POINTS) -> list[tuple[datetime, int]]:
    """The newest `limit` whole-charger power readings of the session, oldest first, in W."""
    rows = session.execute(
        select(MeterValue.timestamp, MeterValue.value, MeterValue.unit)
        .where(MeterValue.transaction_id == tx.id, MeterValue.measurand == POWER)
        .where((MeterValue.phase.is_(None)) | (MeterValue.phase == ""))
        .order_by(MeterValue.timestamp.desc(), MeterValue.id.desc()).limit(limit)
    ).all()
    return [(_aware(ts), _to_watts(Decimal(v), unit)) for ts, v, unit in reversed(rows)]


def _power_from_register(session: Session, tx: Transaction) -> int | None:
    """Power from the last two energy readings, for chargers that do not report power."""
    rows = session.execute(
        select(MeterValue.timestamp, MeterValue.value, MeterValue.unit)
        .where(MeterValue.transaction_id == tx.id, MeterValue.measurand == ENERGY_REGISTER)
        .order_by(MeterValue.timestamp.desc(), MeterValue.id.desc()).limit(2)
    ).all()
    if len(rows) < 2:
        return None
    (t1, v1, u1), (t0, v0, u0) = rows
    hours = (t1 - t0).total_seconds() / 3600
    wh = to_wh(Decimal(v1), u1) - to_wh(Decimal(v0), u0)
    return int(wh / hours) if hours > 0 and wh >= 0 else None


def live_figures(session: Session, tx: Transaction, now: datetime | None = None) -> LiveFigures:
    """Energy, power, duration and cost so far of one session."""
    now = now or datetime.now(timezone.utc)
    end = _aware(tx.stopped_at) if tx.stopped_at else now
    energy = energy_so_far(tx)
    samples = power_samples(session, tx)
    if tx.is_active:
        power = samples[-1][1] if samples else _power_from_register(session, tx)
    else:
        power = None
    return LiveFigures(energy, power, max(end - _aware(tx.started_at), timedelta(0)),
                       cost_so_far(session, tx, energy), samples)


def format_duration(duration: timedelta) -> str:
    """1:05 — hours and minutes. Whole minutes only, so the live fragment stays the same (a 304)
    between meter readings instead of changing every second."""
    minutes = int(duration.total_seconds()) // 60
    return f"{minutes // 60}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Chart:
    points: str  # SVG polyline points
    max_kw: Decimal
    width: int
    height: int


def power_chart(samples: list[tuple[datetime, int]], width: int = 300, height: int = 80) -> Chart | None:
    """Polyline points for a small power-over-time chart, scaled to the box; None below two samples."""
    if len(samples) < 2:
        return None
    t0 = samples[0][0]
    span = max((samples[-1][0] - t0).total_seconds(), 1)
    top = max(max(w for _, w in samples), 1000)
    points = " ".join(
        f"{(ts - t0).total_seconds() / span * width:.0f},{height - max(w, 0) / top * (height - 4):.0f}"
        for ts, w in samples
    )
    return Chart(points, (Decimal(top) / 1000).quantize(Decimal("0.1")), width, height)


# --- following a remote start or stop ---------------------------------------------------------

def user_action(session: Session, user_id: int, action_id: int) -> ActionRequest | None:
    """A start or stop request made by this user (anyone else's is None)."""
    action = session.get(ActionRequest, action_id)
    if action is None or action.requested_by_id != user_id or action.action not in (START_ACTION, STOP_ACTION):
        return None
    return action


def pending_stop(session: Session, tx: Transaction) -> ActionRequest | None:
    """The newest remote stop asked for this session, if any."""
    rows = session.scalars(
        select(ActionRequest).where(ActionRequest.charge_point_id == tx.charge_point_id,
                                    ActionRequest.action == STOP_ACTION,
                                    ActionRequest.created_at >= tx.started_at - timedelta(minutes=5))
        .order_by(ActionRequest.id.desc()).limit(20))
    for action in rows:
        if action.transaction_id == tx.id or (action.payload or {}).get("transactionId") == tx.id:
            return action
    return None


def may_send_stop(stop: ActionRequest | None, stuck_after: timedelta = timedelta(seconds=10)) -> bool:
    """A stop may be (re)sent: none yet, one the charger did not confirm, one stuck in the queue, or one
    accepted whose StopTransaction never came (after the time actions holds it, NO_START_AFTER_S)."""
    if stop is None or (stop.is_final and stop.state != "accepted"):
        return True
    now = datetime.now(timezone.utc)
    if stop.state == "accepted":
        from portal import settings

        return stop.answered_at is not None and _aware(stop.answered_at) < now - timedelta(
            seconds=settings.get("action_no_start_after_s"))
    return stop.state == "queued" and _aware(stop.created_at) < now - stuck_after


_action, _tx = ActionRequest.__table__.c, Transaction.__table__.c
# Built once (the start screen's live fragment runs both every second per open screen): Core over
# the tables with bound parameters, executed on the session's connection.
_NEWEST_START = (select(_action.id, _action.state, _action.transaction_id, _action.no_start_flag, _action.created_at)
                 .where(_action.requested_by_id == bindparam("user_id"), _action.charge_point_id == bindparam("cp_id"),
                        _action.action == START_ACTION)
                 .order_by(_action.id.desc()).limit(1))
_ACTIVE = (select(_tx.id, _tx.charge_point_id, _tx.connector_id)
           .where(_tx.user_id == bindparam("user_id"), _tx.status == "active").order_by(_tx.started_at.desc()))


def pending_start(session: Session, user_id: int, cp_id: int):
    """This user's newest remote start at this charge point that has not led to a session yet: a row
    with its id and state (no ORM object), or None."""
    action = session.connection().execute(_NEWEST_START, {"user_id": user_id, "cp_id": cp_id}).first()
    if action is None or action.transaction_id is not None or action.no_start_flag:
        return None
    if action.state in ("queued", "sent"):
        return action
    recent = _aware(action.created_at) > datetime.now(timezone.utc) - timedelta(minutes=2)
    return action if action.state == "accepted" and recent else None


def active_sessions(session: Session, user_id: int) -> list:
    """The user's running sessions, newest first: rows of (id, charge_point_id, connector_id)."""
    return list(session.connection().execute(_ACTIVE, {"user_id": user_id}))


# --- history, monthly totals, CSV --------------------------------------------------------------

def _history_query(user_id: int, site_id: int | None = None, month: tuple[int, int] | None = None):
    query = (select(Transaction).where(Transaction.user_id == user_id)
             .where(Transaction.access_decision.is_(None) | (Transaction.access_decision == "ok")))
    if site_id is not None:
        query = query.join(ChargePoint, ChargePoint.id == Transaction.charge_point_id).where(
            ChargePoint.site_id == site_id)
    if month is not None:
        start = datetime(month[0], month[1], 1, tzinfo=ZoneInfo(HISTORY_TZ))
        end = datetime(month[0] + month[1] // 12, month[1] % 12 + 1, 1, tzinfo=ZoneInfo(HISTORY_TZ))
        query = query.where(Transaction.started_at >= start, Transaction.started_at < end)
    return query


# Month filters use the Nordic time zone (all sites are in Norway or Sweden, same offset).
HISTORY_TZ = "Europe/Oslo"


def user_transactions(session: Session, user_id: int, limit: int | None = None, *, site_id: int | None = None,
                      month: tuple[int, int] | None = None, offset: int = 0) -> list[Transaction]:
    """The user's sessions, newest first (sessions refused at start are left out), optionally of one
    site and one month (Nordic time); `limit`/`offset` page through them."""
    query = (_history_query(user_id, site_id, month)
             .options(joinedload(Transaction.charge_point).joinedload(ChargePoint.site))
             .order_by(Transaction.started_at.desc(), Transaction.id.desc()))
    if limit:
        query = query.limit(limit).offset(offset)
    return list(session.scalars(query).unique())


def count_transactions(session: Session, user_id: int, *, site_id: int | None = None,
                       month: tuple[int, int] | None = None) -> int:
    return session.scalar(select(func.count()).select_from(_history_query(user_id, site_id, month).subquery())) or 0


def history_choices(session: Session, user_id: int) -> tuple[list[tuple[int, int]], list[tuple[int, str]]]:
    """The months (newest first) and sites (id, name) the user has sessions in, for the history filters."""
    rows = session.execute(
        select(Transaction.started_at, ChargePoint.site_id)
        .join(ChargePoint, ChargePoint.id == Transaction.charge_point_id)
        .where(Transaction.user_id == user_id)).all()
    zone = ZoneInfo(HISTORY_TZ)
    months = sorted({(_aware(ts).astimezone(zone).year, _aware(ts).astimezone(zone).month) for ts, _ in rows},
                    reverse=True)
    site_ids = {sid for _, sid in rows}
    sites = session.execute(select(Site.id, Site.name).where(Site.id.in_(site_ids)).order_by(Site.name)).all() \
        if site_ids else []
    return months, [(sid, name) for sid, name in sites]


def local_start(tx: Transaction) -> datetime:
    return _aware(tx.started_at).astimezone(ZoneInfo(tx.charge_point.site.timezone))


@dataclass
class MonthTotal:
    year: int
    month: int
    currency: str
    sessions: int = 0
    energy_wh: int = 0
    cost_minor: int = 0
    vat_minor: int = 0

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def monthly_totals(transactions: list[Transaction]) -> list[MonthTotal]:
    """Finished sessions summed per month (in the site's time zone) and currency, newest month first."""
    totals: dict[tuple[int, int, str], MonthTotal] = {}
    for tx in transactions:
        if tx.is_active:
            continue
        start = local_start(tx)
        key = (start.year, start.month, tx.currency)
        total = totals.setdefault(key, MonthTotal(*key))
        total.sessions += 1
        total.energy_wh += tx.energy_wh or 0
        total.cost_minor += tx.cost_minor or 0
        total.vat_minor += tx.vat_minor or 0
    return sorted(totals.values(), key=lambda t: (t.year, t.month, t.currency), reverse=True)


CSV_HEADER = ("session", "site", "charger", "connector", "started", "stopped", "kwh", "tariff",
              "price_per_kwh", "cost", "vat", "currency")


def sessions_csv(transactions: list[Transaction], language: str = "en") -> str:
    """One row per session; amounts written the local way (decimal comma in nb/sv)."""
    rows = []
    for tx in transactions:
        tz = ZoneInfo(tx.charge_point.site.timezone)
        stopped = _aware(tx.stopped_at).astimezone(tz).isoformat(timespec="seconds") if tx.stopped_at else ""
        rows.append((
            tx.id, tx.charge_point.site.name, tx.charge_point.display_name, tx.connector_id,
            local_start(tx).isoformat(timespec="seconds"), stopped,
            format_amount(Decimal(energy_so_far(tx)) / 1000, language, places=3), tx.tariff_name,
            format_amount(Decimal(tx.energy_fee), language) if tx.pricing_type == "standard" else "spot",
            format_amount(from_minor(tx.cost_minor), language) if tx.cost_minor is not None else "",
            format_amount(from_minor(tx.vat_minor), language) if tx.vat_minor is not None else "",
            tx.currency,
        ))
    return csv_text(CSV_HEADER, rows)
