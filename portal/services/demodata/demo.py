"""The demo data described in ARCHITECTURE.md; safe to load twice."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import ChargePoint, IdTag, Site, SubscriptionPlan, Tariff, TariffGroup, User, UserSubscription
from portal.services.people.secrets import hash_charger_secret, verify_secret
from portal.services.sites.onboarding import add_charge_point, add_member, create_user, find_user, site_by_slug
from portal.services.people.secrets import hash_secret

DEMO_PASSWORD = "demo-password"
DEMO_DOMAIN = "@demo.test"
DEMO_CHARGER_SECRET = "Solbakken-Demo-Lader-2025"
# Demo names are written in each site's own language, as a real board would name them.
NORWEGIAN = {"residents": "beboere", "guests": "gjester", "base": "grunntariff (ingen lading)", "group": "standard"}
SWEDISH = {"residents": "boende", "guests": "gäster", "base": "grundtaxa (ingen laddning)", "group": "standard"}


def _site(session: Session, slug: str, **fields) -> Site:
    site = site_by_slug(session, slug)
    if site is None:
        site = Site(slug=slug, **fields)
        session.add(site)
        session.flush()
    return site


def _tariff_setup(session: Session, site: Site, prefix: str, words: dict, fee: str, min_minor: int) -> TariffGroup:
    """The usual set-up: a base tariff that forbids charging plus a residents' tariff for subscribers."""
    group = session.scalar(select(TariffGroup).where(TariffGroup.site_id == site.id))
    if group:
        return group
    plan = SubscriptionPlan(site_id=site.id, name=f"{prefix} {words['residents']}", description="")
    guests = SubscriptionPlan(site_id=site.id, name=f"{prefix} {words['guests']}", description="")
    session.add_all([plan, guests])
    session.flush()
    base = Tariff(site_id=site.id, name=f"{prefix} – {words['base']}", pricing_type="not_allowed")
    residents = Tariff(site_id=site.id, name=f"{prefix} – {words['residents']}", pricing_type="standard",
                       energy_fee=Decimal(fee), min_price_minor=min_minor, preauth_minor=0)
    residents.restrictions = [plan]
    guest = Tariff(site_id=site.id, name=f"{prefix} – {words['guests']}", pricing_type="standard",
                   energy_fee=Decimal(fee) + Decimal("1.50"), min_price_minor=min_minor, preauth_minor=20000)
    guest.restrictions = [guests]
    group = TariffGroup(site_id=site.id, name=f"{prefix} {words['group']}")
    group.tariffs = [base, residents, guest]
    session.add(group)
    session.flush()
    return group


def _user(session: Session, email: str, name: str, password_hash: str, **kw):
    user = find_user(session, email) or create_user(session, email, name=name, password_hash=password_hash, **kw)
    user.email_verified_at = user.email_verified_at or utcnow()  # demo accounts log in without a mail round
    return user


class NotADemoDatabase(RuntimeError):
    """The database holds real accounts: demo accounts with a published password must not join them."""


def check_demo_only(session: Session) -> None:
    """Raise NotADemoDatabase when any account is not a demo account."""
    others = session.scalar(select(func.count()).select_from(User).where(~User.email.endswith(DEMO_DOMAIN)))
    if others:
        raise NotADemoDatabase(f"this database holds {others} account(s) that are not demo accounts; "
                               "seed-demo only runs on an empty or demo database")


def seed_demo(session: Session) -> None:
    """Load (or complete) the demo data; flushes, the caller commits. Refuses a database with real users."""
    check_demo_only(session)
    pw = hash_secret(DEMO_PASSWORD)
    solbakken = _site(session, "solbakken", name="Solbakken borettslag", org_number="912345688",
                      kind="borettslag", agreement_status="active", address="Solbakkveien 12",
                      city="Oslo", country="NO", price_area="NO1", currency="NOK", timezone="Europe/Oslo")
    nordlys = _site(session, "nordlys", name="BRF Nordlys", org_number="769600-1234", kind="brf",
                    agreement_status="active", address="Norrskensgatan 3", city="Uppsala", country="SE",
                    price_area="SE3", currency="SEK", timezone="Europe/Stockholm")
    sol_group = _tariff_setup(session, solbakken, "Solbakken", NORWEGIAN, "3.20", 500)
    nor_group = _tariff_setup(session, nordlys, "Nordlys", SWEDISH, "2.95", 0)

    resident = _user(session, "resident@demo.test", "Ragnhild Resident", pw)
    resident.phone = resident.phone or "+4791234567"  # support finds her by "912 34" (issue 19)
    board = _user(session, "board@demo.test", "Bjørn Board", pw)
    _user(session, "support@demo.test", "Siri Support", pw, staff_role="support")
    _user(session, "sales@demo.test", "Sander Sales", pw, staff_role="sales")
    _user(session, "admin@demo.test", "Ada Admin", pw, staff_role="admin")
    neighbour = _user(session, "nordlys@demo.test", "Nils Nordlys", pw, language="sv")
    add_member(session, resident, solbakken, "resident")
    add_member(session, board, solbakken, "board")
    add_member(session, neighbour, nordlys, "resident")

    for user, group in ((resident, sol_group), (board, sol_group), (neighbour, nor_group)):
        plan = min((t.restrictions[0] for t in group.tariffs if t.restrictions), key=lambda p: p.id)
        held = session.scalar(select(UserSubscription).where(
            UserSubscription.user_id == user.id, UserSubscription.plan_id == plan.id,
            UserSubscription.status == "active"))
        if held is None:
            session.add(UserSubscription(user_id=user.id, plan_id=plan.id, status="active"))
    if session.scalar(select(IdTag).where(IdTag.tag == "RFID-DEMO-0001")) is None:
        session.add(IdTag(tag="RFID-DEMO-0001", user_id=resident.id, kind="rfid", name="Key fob"))

    for identity, site, connectors, group, name in (
        ("CP-DEMO-1", solbakken, 2, sol_group, "Garasje A, plass 1–2"),
        ("CP-DEMO-2", solbakken, 1, sol_group, "Garasje A, plass 3"),
        ("CP-NORDLYS-1", nordlys, 1, nor_group, "Garage 1"),
    ):
        cp = next((c for c in site.charge_points if c.identity == identity), None)
        if cp is None:
            cp = add_charge_point(session, identity, site, DEMO_CHARGER_SECRET, connectors, name=name)
        elif not verify_secret(cp.secret_hash, DEMO_CHARGER_SECRET):  # seeded before the demo secret changed
            cp.secret_hash = hash_charger_secret(DEMO_CHARGER_SECRET)
        cp.tariff_group_id = group.id
    session.flush()
    _lived_in(session, solbakken, nordlys, sol_group, resident, board)
    from portal.services.demodata.demo_fleet import seed_fleet
    from portal.services.demodata.demo_help import seed_help_and_sales

    seed_help_and_sales(session)
    from portal.services.demodata.demo_workorders import seed_work_order

    seed_work_order(session)
    from portal.services.demodata.demo_faults import seed_incident

    seed_incident(session)
    seed_fleet(session)  # issue 21: a configuration template for the simulated chargers
    from portal.services.demodata.demo_payments import seed_payments

    seed_payments(session)
    from portal.services.demodata.demo_payouts import seed_payouts

    seed_payouts(session)  # issue 24 part 4: the operator's fee and an electricity bill


def _lived_in(session: Session, solbakken: Site, nordlys: Site, sol_group: TariffGroup, resident, board) -> None:
    """A personal charger, a spot tariff with today's prices, fees, a closed plan, history and statements."""
    from portal import settings
    from portal.db import utcnow
    from portal.services.billing import statements
    from portal.services.demodata import demo_history

    now = utcnow()
    residents_tariff = next(t for t in sol_group.tariffs if t.restrictions and t.pricing_type == "standard")
    demo_history.fees_and_closed_plan(session, solbakken, residents_tariff.restrictions[0])
    demo_history.personal_charger(session, solbakken, resident, DEMO_CHARGER_SECRET, sol_group)
    demo_history.spot_tariff(session, solbakken, sol_group, [board], now)
    demo_history.backdate_subscriptions(session, [resident, board], now)
    cp_ids = list(session.scalars(select(ChargePoint.id).where(ChargePoint.identity.in_(("CP-DEMO-1", "CP-DEMO-2")))))
    demo_history.past_sessions(session, cp_ids, [resident, board], residents_tariff, now)
    demo_history.past_statements(session, [solbakken, nordlys],
                                 statements.Operator(settings.get("operator_name"), settings.get("operator_org_number")), now)
