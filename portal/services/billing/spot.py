"""Day-ahead spot prices: import from a JSON source, look-ups, and billing a spot session per interval.

The source is a URL template (SPOT_PRICE_SOURCE) with {area}, {date} (YYYY-MM-DD), {year},
{month} and {day}; it answers a JSON list of intervals like the public Norwegian price APIs:
``[{"time_start": "2024-05-01T00:00:00+02:00", "time_end": "...", "NOK_per_kWh": 0.51}, ...]``.
Prices are per kWh excluding VAT and may be negative.
"""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import SpotPrice, Transaction
from portal.models.sites import PRICE_AREAS
from portal.services.billing.pricing import Cost, cost_from_intervals, spot_unit_price

log = logging.getLogger(__name__)

START_KEYS = ("time_start", "start")
END_KEYS = ("time_end", "end")
FALLBACK_FLAG = "spot price missing for part of the session; fallback price used"


class SpotSourceError(RuntimeError):
    """The price source answered something that is not a list of priced intervals."""


@dataclass(frozen=True)
class Interval:
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC
    price: Decimal  # per kWh excl. VAT


@dataclass(frozen=True)
class DayStatus:
    area: str
    day: date
    count: int
    complete: bool
    minimum: Decimal | None
    maximum: Decimal | None

    @property
    def missing(self) -> bool:
        return self.count == 0


def currency_for(area: str) -> str:
    return "SEK" if area.startswith("SE") else "NOK"


def source_url(template: str, area: str, day: date) -> str:
    """Fill the URL template for one area and one day."""
    return template.format(area=area, date=day.isoformat(), year=f"{day.year:04d}",
                           month=f"{day.month:02d}", day=f"{day.day:02d}")


def _parse_time(text: object) -> datetime:
    if not isinstance(text, str):
        raise SpotSourceError(f"not a time: {text!r}")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SpotSourceError(f"not an ISO 8601 time: {text!r}") from exc
    if moment.tzinfo is None:
        raise SpotSourceError(f"time without a UTC offset: {text!r}")
    return moment.astimezone(timezone.utc)


def _first(item: dict, keys: tuple[str, ...]) -> object:
    for key in keys:
        if key in item:
            return item[key]
    raise SpotSourceError(f"none of {', '.join(keys)} in {item!r}")


def _price(item: dict, currency: str) -> Decimal:
    value = _first(item, (f"{currency}_per_kWh", "price", "NOK_per_kWh", "SEK_per_kWh"))
    try:
        return Decimal(str(value))
    except ArithmeticError as exc:
        raise SpotSourceError(f"not a price: {value!r}") from exc


def parse_prices(payload: str | bytes | list, currency: str = "NOK") -> list[Interval]:
    """Turn the source's JSON into intervals (UTC), sorted by start; raise SpotSourceError on bad data."""
    data = json.loads(payload, parse_float=Decimal) if isinstance(payload, (str, bytes)) else payload
    if not isinstance(data, list):
        raise SpotSourceError("the price source did not answer a JSON list")
    intervals = []
    for item in data:
        if not isinstance(item, dict):
            raise SpotSourceError(f"not an object: {item!r}")
        start, end = _parse_time(_first(item, START_KEYS)), _parse_time(_first(item, END_KEYS))
        if end <= start:
            raise SpotSourceError(f"interval ends before it starts: {item!r}")
        intervals.append(Interval(start, end, _price(item, currency)))
    return sorted(intervals, key=lambda i: i.starts_at)


def fetch(url: str, timeout: float = 20) -> bytes | None:
    """The body at url, or None when the source has no prices for that day yet (HTTP 404)."""
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "ev-portal/1"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - configured URL
            return response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def store_prices(session: Session, area: str, intervals: list[Interval], currency: str | None = None) -> int:
    """Insert or update the intervals of one area (safe to run twice); returns how many were written."""
    if not intervals:
        return 0
    currency = currency or currency_for(area)
    existing = {
        row.starts_at: row for row in session.scalars(
            select(SpotPrice).where(
                SpotPrice.price_area == area,
                SpotPrice.starts_at >= intervals[0].starts_at,
                SpotPrice.starts_at <= intervals[-1].starts_at,
            )
        )
    }
    for interval in intervals:
        row = existing.get(interval.starts_at)
        if row is None:
            session.add(SpotPrice(price_area=area, starts_at=interval.starts_at, ends_at=interval.ends_at,
                                  price_per_kwh=interval.price, currency=currency))
        else:
            row.ends_at, row.price_per_kwh, row.currency = interval.ends_at, interval.price, currency
    session.flush()
    return len(intervals)


def import_day(session: Session, template: str, area: str, day: date, timeout: float = 20) -> int | None:
    """Fetch and store one area's prices for one day; None when the source has none yet."""
    body = fetch(source_url(template, area, day), timeout)
    if body is None:
        return None
    return store_prices(session, area, parse_prices(body, currency_for(area)))


# --- look-ups ------------------------------------------------------------------------------

def day_bounds(day: date, tz: str = "Europe/Oslo") -> tuple[datetime, datetime]:
    """The UTC start and end of a local calendar day (23 or 25 hours on DST days)."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def local_today(tz: str = "Europe/Oslo", now: datetime | None = None) -> date:
    return (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(tz)).date()


def prices_for_day(session: Session, area: str, day: date, tz: str = "Europe/Oslo") -> list[SpotPrice]:
    start, end = day_bounds(day, tz)
    return list(session.scalars(
        select(SpotPrice).where(SpotPrice.price_area == area, SpotPrice.starts_at >= start,
                                SpotPrice.starts_at < end).order_by(SpotPrice.starts_at)
    ))


def day_status(session: Session, area: str, day: date, tz: str = "Europe/Oslo") -> DayStatus:
    """How much of a day is priced: complete when the intervals cover the whole local day."""
    rows = prices_for_day(session, area, day, tz)
    start, end = day_bounds(day, tz)
    covered = sum(((min(r.ends_at, end) - r.starts_at) for r in rows), timedelta())
    prices = [Decimal(r.price_per_kwh) for r in rows]
    return DayStatus(area, day, len(rows), covered >= end - start,
                     min(prices) if prices else None, max(prices) if prices else None)


def overview(session: Session, days: list[date], tz: str = "Europe/Oslo") -> list[list[DayStatus]]:
    """One row per price area, one DayStatus per requested day."""
    return [[day_status(session, area, day, tz) for day in days] for area in PRICE_AREAS]


def price_at(session: Session, area: str, moment: datetime) -> Decimal | None:
    """The spot price (excl. VAT) of the interval containing moment, or None."""
    value = session.scalar(
        select(SpotPrice.price_per_kwh).where(
            SpotPrice.price_area == area, SpotPrice.starts_at <= moment, SpotPrice.ends_at > moment
        ).order_by(SpotPrice.starts_at.desc()).limit(1)
    )
    return Decimal(value) if value is not None else None


# --- billing -------------------------------------------------------------------------------

def _energy_points(tx: Transaction, readings: list[tuple[datetime, int]]) -> list[tuple[datetime, int]]:
    """(time, Wh since start) from start to stop, monotonic and capped at the billed energy."""
    stop = tx.stopped_at or (readings[-1][0] if readings else tx.started_at)
    base = readings[0][1] if ("billed_from_samples" in tx.flag_codes and readings) else tx.meter_start_wh
    points, last = [(tx.started_at, 0)], 0
    for ts, wh in readings:
        if tx.started_at <= ts <= stop:
            last = min(max(wh - base, last), tx.energy_wh)
            points.append((ts, last))
    points.append((max(stop, points[-1][0]), tx.energy_wh))
    return points


def _split_segment(t0: datetime, t1: datetime, wh: int, rows: list[SpotPrice]
                   ) -> tuple[list[tuple[Decimal, SpotPrice]], Decimal]:
    """Share wh over the spot intervals overlapping [t0, t1] by time; returns (Wh, interval) parts and uncovered Wh."""
    if t1 <= t0:
        row = next((r for r in rows if r.starts_at <= t0 < r.ends_at), None)
        return ([(Decimal(wh), row)], Decimal(0)) if row else ([], Decimal(wh))
    span = Decimal(str((t1 - t0).total_seconds()))
    parts = []
    for row in rows:
        overlap = (min(t1, row.ends_at) - max(t0, row.starts_at)).total_seconds()
        if overlap > 0:
            parts.append((Decimal(wh) * Decimal(str(overlap)) / span, row))
    return parts, Decimal(wh) - sum((p for p, _ in parts), Decimal(0))


@dataclass(frozen=True)
class BilledPart:
    """Energy billed at one price: a spot interval (starts_at set) or the fallback price (starts_at None)."""

    starts_at: datetime | None
    wh: Decimal
    unit_price: Decimal  # incl. VAT, per kWh


def spot_parts(session: Session, tx: Transaction, readings: list[tuple[datetime, int]]) -> list[BilledPart]:
    """The session's energy split over the spot intervals it was charged in (and the fallback price)."""
    points = _energy_points(tx, readings)
    rows = list(session.scalars(
        select(SpotPrice).where(SpotPrice.price_area == tx.price_area, SpotPrice.ends_at > points[0][0],
                                SpotPrice.starts_at <= points[-1][0]).order_by(SpotPrice.starts_at)
    ))
    fallback = Decimal(tx.spot_fallback)
    parts: list[BilledPart] = []
    for (t0, e0), (t1, e1) in zip(points, points[1:]):
        if e1 <= e0:
            continue
        spot_parts_, uncovered = _split_segment(t0, t1, e1 - e0, rows)
        for wh, row in spot_parts_:
            parts.append(BilledPart(row.starts_at, wh, spot_unit_price(
                Decimal(row.price_per_kwh), tx.spot_markup, tx.spot_markup_percent, tx.vat_rate_bp)))
        if uncovered > Decimal("0.0005"):
            parts.append(BilledPart(None, uncovered, fallback))
    return parts


def spot_cost(session: Session, tx: Transaction, readings: list[tuple[datetime, int]]) -> Cost:
    """Bill each metered stretch at the spot price of the intervals it falls in.

    Energy between two register readings is spread evenly over the time between them; a stretch
    crossing an interval boundary is split at the boundary. Time with no stored spot price is billed
    at the tariff's fallback price and the session gets a price_flag. The unit price never goes
    below zero (pricing.spot_unit_price), even when the exchange price is negative.
    """
    parts = spot_parts(session, tx, readings)
    if any(p.starts_at is None for p in parts):
        tx.price_flag = FALLBACK_FLAG
    return cost_from_intervals([(p.wh, p.unit_price) for p in parts], tx.min_price_minor, tx.vat_rate_bp)
