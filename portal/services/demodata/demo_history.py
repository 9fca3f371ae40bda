"""The lived-in part of the demo: a personal charger with autostart, a spot tariff with prices for today,
a closed plan, monthly fees, three months of past sessions and their statements. Safe to load twice
(every row is found by a stable key first); called by portal.services.demodata.demo.seed_demo."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import (
    ChargePoint, Site, SpotPrice, SubscriptionPlan, Tariff, TariffGroup, Transaction, User, UserGroup,
    UserGroupMember, UserSubscription,
)
from portal.services.billing import statements
from portal.services.sites.onboarding import add_charge_point
from portal.services.billing.pricing import session_cost

MONTHS_OF_HISTORY = 3


def _months_back(today: date, n: int) -> list[tuple[int, int]]:
    """The n whole months before this one, oldest first."""
    out, first = [], today.replace(day=1)
    for _ in range(n):
        first = (first - timedelta(days=1)).replace(day=1)
        out.append((first.year, first.month))
    return list(reversed(out))


def _plan(session: Session, site: Site, name: str, **fields) -> SubscriptionPlan:
    plan = session.scalar(select(SubscriptionPlan).where(SubscriptionPlan.site_id == site.id,
                                                         SubscriptionPlan.name == name))
    if plan is None:
        plan = SubscriptionPlan(site_id=site.id, name=name, **fields)
        session.add(plan)
        session.flush()
    return plan


def personal_charger(session: Session, site: Site, owner: User, secret: str, group: TariffGroup) -> ChargePoint:
    """CP-DEMO-HOME: the resident's own charger at their parking space, authentication off (autostart)."""
    cp = session.scalar(select(ChargePoint).where(ChargePoint.identity == "CP-DEMO-HOME"))
    if cp is None:
        cp = add_charge_point(session, "CP-DEMO-HOME", site, secret, 1, name="Min lader, plass 14")
        cp.cp_type, cp.owner_id, cp.auth_required, cp.tariff_group_id = "personal", owner.id, False, group.id
    return cp


def spot_tariff(session: Session, site: Site, group: TariffGroup, members: list[User], now: datetime) -> Tariff:
    """A spot tariff for the members of a pilot user group, and NO1 prices for today and tomorrow."""
    tariff = session.scalar(select(Tariff).where(Tariff.site_id == site.id, Tariff.pricing_type == "spot"))
    if tariff is None:
        pilots = UserGroup(site_id=site.id, name="Solbakken spotpris-pilot")
        session.add(pilots)
        session.flush()
        session.add_all([UserGroupMember(group_id=pilots.id, user_id=u.id) for u in members])
        tariff = Tariff(site_id=site.id, name="Solbakken – spotpris", pricing_type="spot",
                        spot_markup=Decimal("0.3900"), spot_markup_percent=Decimal("0"),
                        spot_fallback=Decimal("3.2000"), description="Spotpris + 39 øre/kWh + mva.")
        tariff.group_restrictions = [pilots]
        session.add(tariff)
        session.flush()
        group.tariffs.append(tariff)
    zone = ZoneInfo(site.timezone)
    today = now.astimezone(zone).date()
    for day in (today, today + timedelta(days=1)):
        start = datetime.combine(day, time(0), zone).astimezone(timezone.utc)
        if session.scalar(select(SpotPrice.id).where(SpotPrice.price_area == site.price_area,
                                                     SpotPrice.starts_at == start)):
            continue
        for quarter in range(96):  # 15-minute prices: cheap at night, peaks morning and evening
            hour = quarter / 4
            shape = 0.55 + 0.35 * (7 <= hour < 10) + 0.45 * (16 <= hour < 20) - 0.2 * (hour < 5)
            starts = start + timedelta(minutes=15 * quarter)
            session.add(SpotPrice(price_area=site.price_area, starts_at=starts, ends_at=starts + timedelta(minutes=15),
                                  price_per_kwh=Decimal(str(round(shape + 0.02 * (quarter % 3), 4))),
                                  currency=site.currency))
    session.flush()
    return tariff


def fees_and_closed_plan(session: Session, site: Site, residents_plan: SubscriptionPlan) -> None:
    """The residents' plan costs 199 kr a month; last year's guest plan is closed to new subscribers."""
    if residents_plan.monthly_fee_minor == 0:
        residents_plan.monthly_fee_minor = 19900
    _plan(session, site, "Solbakken gjester 2025", description="Erstattet av det nye gjesteabonnementet.",
          monthly_fee_minor=9900, active=False)


def past_sessions(session: Session, cp_ids: list[int], users: list[User], tariff: Tariff, now: datetime) -> int:
    """Two to four sessions a week per user over the last three months and this month; returns how many were new."""
    rng = random.Random(20261201)  # the same history on every machine
    zone = ZoneInfo("Europe/Oslo")
    first = _months_back(now.astimezone(zone).date(), MONTHS_OF_HISTORY)[0]
    day = datetime(first[0], first[1], 1, tzinfo=zone)
    added = 0
    existing = set(session.scalars(select(Transaction.start_key).where(Transaction.start_key.like("demo-hist-%"))))
    while day < now - timedelta(days=1):
        for user in users:
            if rng.random() > 0.45:
                continue
            start = day + timedelta(hours=rng.choice((6, 17, 18, 19, 21, 22)), minutes=rng.randrange(60))
            key = f"demo-hist-{user.id}-{start:%Y%m%d%H%M}"
            wh = rng.randrange(4_000, 38_000)
            if key in existing or start >= now:
                continue
            cost = session_cost(wh, tariff.energy_fee, tariff.min_price_minor, 2500)
            session.add(Transaction(
                charge_point_id=rng.choice(cp_ids), connector_id=1, id_tag=f"DEMO{user.id}", user_id=user.id,
                status="completed", start_key=key, stop_key=key.replace("hist", "stop"), meter_start_wh=1_000_000,
                meter_stop_wh=1_000_000 + wh, started_at=start.astimezone(timezone.utc),
                stopped_at=(start + timedelta(minutes=wh // 180 + 20)).astimezone(timezone.utc), stop_reason="Local",
                energy_wh=wh, tariff_id=tariff.id, tariff_name=tariff.name, pricing_type="standard",
                energy_fee=tariff.energy_fee, min_price_minor=tariff.min_price_minor, currency="NOK",
                vat_rate_bp=2500, cost_minor=cost.total_minor, vat_minor=cost.vat_minor))
            added += 1
        day += timedelta(days=1)
    session.flush()
    return added


def backdate_subscriptions(session: Session, users: list[User], now: datetime) -> None:
    """The demo residents have held their subscriptions since before the history starts."""
    since = now - timedelta(days=31 * (MONTHS_OF_HISTORY + 1))
    for sub in session.scalars(select(UserSubscription).where(UserSubscription.user_id.in_([u.id for u in users]))):
        if sub.started_at > since:
            sub.started_at = since


def past_statements(session: Session, sites: list[Site], operator: statements.Operator, now: datetime) -> None:
    for year, month in _months_back(now.date(), MONTHS_OF_HISTORY):
        for site in sites:
            statements.issue(session, site, year, month, operator)
