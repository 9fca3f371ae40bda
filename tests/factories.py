"""Factory helpers: users, sites, charge points and the usual tariff set-up, with sensible defaults."""
from __future__ import annotations

import functools
import itertools
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy.orm import Session

from portal.models import (
    ChargePoint, Site, SubscriptionPlan, Tariff, TariffGroup, User, UserSubscription,
)
from portal.services.sites.onboarding import add_charge_point, add_member, create_user
from portal.services.people.secrets import hash_charger_secret, hash_secret

PASSWORD = "correct-horse-battery"
CHARGER_SECRET = "test-charger-secret-0001"
_seq = itertools.count(1)
# Residents in tests have held their access for a long time: a session a charger started offline (or at a
# fixed test timestamp) is judged by the access held at its start time.
LONG_AGO = datetime(2020, 1, 1, tzinfo=timezone.utc)


@functools.cache
def password_hash() -> str:
    return hash_secret(PASSWORD)


@functools.cache
def charger_secret_hash() -> str:
    return hash_charger_secret(CHARGER_SECRET)


def make_site(session: Session, slug: str | None = None, **fields) -> Site:
    n = next(_seq)
    site = Site(slug=slug or f"site-{n}", name=fields.pop("name", f"Site {n} borettslag"), **fields)
    session.add(site)
    session.flush()
    return site


def make_user(
    session: Session, email: str | None = None, *, site: Site | None = None, role: str = "resident",
    staff_role: str | None = None, language: str = "en", name: str = "",
) -> User:
    user = create_user(session, email or f"user{next(_seq)}@example.test", password_hash=password_hash(),
                       staff_role=staff_role, language=language, name=name)
    if site is not None:
        add_member(session, user, site, role).created_at = LONG_AGO
    return user


def make_plan(session: Session, site: Site, name: str = "Residents") -> SubscriptionPlan:
    plan = SubscriptionPlan(site_id=site.id, name=name)
    session.add(plan)
    session.flush()
    return plan


def subscribe(session: Session, user: User, plan: SubscriptionPlan, started_at: datetime = LONG_AGO) -> UserSubscription:
    sub = UserSubscription(user_id=user.id, plan_id=plan.id, status="active", started_at=started_at)
    session.add(sub)
    session.flush()
    return sub


def make_tariff(session: Session, site: Site, *, name: str | None = None, pricing_type: str = "standard",
                fee: str = "3.20", min_minor: int = 0, preauth_minor: int = 0,
                plans: list[SubscriptionPlan] | None = None, **fields) -> Tariff:
    tariff = Tariff(site_id=site.id, name=name or f"Tariff {next(_seq)}", pricing_type=pricing_type,
                    energy_fee=Decimal(fee), min_price_minor=min_minor, preauth_minor=preauth_minor, **fields)
    tariff.restrictions = list(plans or [])
    session.add(tariff)
    session.flush()
    return tariff


def make_group(session: Session, site: Site, tariffs: list[Tariff], name: str = "Standard") -> TariffGroup:
    group = TariffGroup(site_id=site.id, name=name)
    group.tariffs = list(tariffs)
    session.add(group)
    session.flush()
    return group


def standard_setup(session: Session, site: Site, fee: str = "3.20") -> tuple[TariffGroup, SubscriptionPlan]:
    """Base tariff that forbids charging + residents' tariff for holders of the residents' plan."""
    plan = make_plan(session, site, "Residents")
    base = make_tariff(session, site, name="Base", pricing_type="not_allowed")
    residents = make_tariff(session, site, name="Residents", fee=fee, plans=[plan])
    return make_group(session, site, [base, residents]), plan


def make_charge_point(
    session: Session, site: Site, identity: str | None = None, *, connectors: int = 1,
    group: TariffGroup | None = None, online: bool = True, status: str = "Available", **fields,
) -> ChargePoint:
    cp = add_charge_point(session, identity or f"CP-T-{next(_seq)}", site, CHARGER_SECRET, connectors,
                          secret_hash=charger_secret_hash())
    for key, value in fields.items():
        setattr(cp, key, value)
    if group is not None:
        cp.tariff_group_id = group.id
    cp.online = online
    if online:
        cp.boot_status = "Accepted"
    for c in cp.connectors:
        c.status = status
    session.flush()
    session.refresh(cp)
    return cp


def resident_with_access(session: Session, fee: str = "3.20"):
    """A site with the usual tariffs, a subscribed resident and an online charge point: the common case."""
    site = make_site(session)
    group, plan = standard_setup(session, site, fee)
    user = make_user(session, site=site)
    subscribe(session, user, plan)
    cp = make_charge_point(session, site, group=group)
    return site, user, cp
