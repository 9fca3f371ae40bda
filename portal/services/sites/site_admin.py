"""Site management operations for board members and operator admins (Flask-free).

Every change writes an AuditEntry with the values before and after. Functions flush, never commit.
Rule violations raise RuleError with a code (portal.refusals.SITE_RULES has their words).
Tariffs, tariff groups, subscription plans, chargers and the monthly report live here; a site's people
(invites, members, user groups) in portal.services.sites.site_people.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import (
    ChargePoint, Membership, Site, SubscriptionPlan, Tariff, TariffGroup, User,
    UserGroup, UserSubscription,
)
from portal.services.sites import audit
from portal.services.billing.csv_export import csv_text
from portal.services.sites.onboarding import find_user
from portal.services.billing.pricing import TariffChoice, choose_tariff, comparison_price
from portal.services.billing.statements import ReportRow, month_bounds, monthly_report  # noqa: F401  (the site's report)


class RuleError(ValueError):
    """A change the site rules do not allow; `field` names the form field, `code` the rule."""

    def __init__(self, code: str, field: str | None = None) -> None:
        super().__init__(code)
        self.code, self.field = code, field


def manageable_sites(session: Session, user: User) -> list[Site]:
    """Sites the user may manage: all for operator admins, otherwise where they are on the board."""
    query = select(Site).order_by(Site.name)
    if not user.is_admin:
        query = query.join(Membership, Membership.site_id == Site.id).where(
            Membership.user_id == user.id, Membership.role == "board")
    return list(session.scalars(query))


# --- tariffs -------------------------------------------------------------------------------

TARIFF_FIELDS = ("name", "description", "pricing_type", "energy_fee", "min_price_minor", "preauth_minor",
                 "spot_markup", "spot_markup_percent", "spot_fallback")


@dataclass
class TariffData:
    name: str
    description: str = ""
    pricing_type: str = "standard"
    energy_fee: Decimal = Decimal(0)
    min_price_minor: int = 0
    preauth_minor: int = 0
    spot_markup: Decimal = Decimal(0)
    spot_markup_percent: Decimal = Decimal(0)
    spot_fallback: Decimal = Decimal(0)
    plan_ids: list[int] = field(default_factory=list)
    group_ids: list[int] = field(default_factory=list)


def _tariff_state(t: Tariff) -> dict:
    state = audit.snapshot(t, TARIFF_FIELDS)
    state["restrictions"] = sorted(p.id for p in t.restrictions)
    state["user_groups"] = sorted(g.id for g in t.group_restrictions)
    return state


def site_tariffs(session: Session, site_id: int, q: str = "") -> list[Tariff]:
    query = select(Tariff).where(Tariff.site_id == site_id).order_by(Tariff.name, Tariff.id)
    if q.strip():
        query = query.where(func.lower(Tariff.name).contains(q.strip().lower()))
    return list(session.scalars(query))


def site_plans(session: Session, site_id: int) -> list[SubscriptionPlan]:
    return list(session.scalars(
        select(SubscriptionPlan).where(SubscriptionPlan.site_id == site_id).order_by(SubscriptionPlan.name)))


def _apply_tariff(session: Session, tariff: Tariff, data: TariffData) -> None:
    for name in TARIFF_FIELDS:
        setattr(tariff, name, getattr(data, name))
    plans = [p for p in site_plans(session, tariff.site_id) if p.id in set(data.plan_ids)]
    tariff.restrictions = plans
    tariff.group_restrictions = [g for g in site_user_groups(session, tariff.site_id) if g.id in set(data.group_ids)]


def create_tariff(session: Session, actor: User, site: Site, data: TariffData) -> Tariff:
    tariff = Tariff(site_id=site.id)
    _apply_tariff(session, tariff, data)
    session.add(tariff)
    session.flush()
    audit.record(session, actor, site.id, "tariff", tariff.id, "create", None, _tariff_state(tariff))
    return tariff


def update_tariff(session: Session, actor: User, tariff: Tariff, data: TariffData) -> Tariff:
    """Edit a tariff; running sessions keep the price snapshot they started with."""
    before = _tariff_state(tariff)
    _apply_tariff(session, tariff, data)
    tariff.updated_at = utcnow()
    session.flush()
    after = _tariff_state(tariff)
    if audit.changed(before, after):
        audit.record(session, actor, tariff.site_id, "tariff", tariff.id, "update", before, after)
    return tariff


def site_user_groups(session: Session, site_id: int) -> list[UserGroup]:
    return list(session.scalars(select(UserGroup).where(UserGroup.site_id == site_id).order_by(UserGroup.name)))


# --- tariff groups -------------------------------------------------------------------------

def site_groups(session: Session, site_id: int) -> list[TariffGroup]:
    return list(session.scalars(
        select(TariffGroup).where(TariffGroup.site_id == site_id).order_by(TariffGroup.name)))


def create_group(session: Session, actor: User, site: Site, name: str) -> TariffGroup:
    group = TariffGroup(site_id=site.id, name=name.strip())
    session.add(group)
    session.flush()
    audit.record(session, actor, site.id, "tariff_group", group.id, "create", None, {"name": group.name})
    return group


def _same_site(*objs) -> None:
    if len({o.site_id for o in objs}) != 1:
        raise RuleError("other_site")


def attach_tariff(session: Session, actor: User, group: TariffGroup, tariff: Tariff) -> None:
    _change_group_tariffs(session, actor, group, tariff, attach=True)


def detach_tariff(session: Session, actor: User, group: TariffGroup, tariff: Tariff) -> None:
    _change_group_tariffs(session, actor, group, tariff, attach=False)


def _change_group_tariffs(session: Session, actor: User, group: TariffGroup, tariff: Tariff, *, attach: bool) -> None:
    """Attach or detach one tariff (same site only); a no-op change writes no audit entry."""
    _same_site(group, tariff)
    if (tariff in group.tariffs) == attach:
        return
    before = sorted(t.id for t in group.tariffs)
    if attach:
        group.tariffs.append(tariff)
    else:
        group.tariffs.remove(tariff)
    session.flush()
    audit.record(session, actor, group.site_id, "tariff_group", group.id,
                 "attach_tariff" if attach else "detach_tariff",
                 {"tariffs": before}, {"tariffs": sorted(t.id for t in group.tariffs)})


def site_charge_points(session: Session, site_id: int) -> list[ChargePoint]:
    return list(session.scalars(
        select(ChargePoint).where(ChargePoint.site_id == site_id).order_by(ChargePoint.name, ChargePoint.identity)))


def link_charge_points(session: Session, actor: User, group: TariffGroup, cp_ids: set[int]) -> None:
    """The group's charge points become exactly cp_ids (of the same site); others linked here are unlinked."""
    for cp in site_charge_points(session, group.site_id):
        want = cp.id in cp_ids
        if want and cp.tariff_group_id != group.id or not want and cp.tariff_group_id == group.id:
            before = cp.tariff_group_id
            cp.tariff_group_id = group.id if want else None
            audit.record(session, actor, group.site_id, "charge_point", cp.id, "tariff_group",
                         {"tariff_group_id": before}, {"tariff_group_id": cp.tariff_group_id})
    session.flush()


@dataclass(frozen=True)
class PreviewRow:
    """What one kind of user pays at a group's charge points."""

    plan: SubscriptionPlan | None  # None: a user without any subscription (or a user group's member)
    choice: TariffChoice
    unit_price: Decimal | None  # per kWh incl. VAT, for an allowed standard or spot tariff
    user_group: UserGroup | None = None  # set: a member of this user group without a subscription


def preview(session: Session, group: TariffGroup, site: Site, spot_now: Decimal | None = None) -> list[PreviewRow]:
    """The tariff rule of the start screen (pricing.choose_tariff) for each kind of user: without
    anything, holder of each plan, member of each user group."""
    kinds: list[tuple[SubscriptionPlan | None, UserGroup | None]] = [(None, None)]
    kinds += [(plan, None) for plan in site_plans(session, site.id)]
    kinds += [(None, ug) for ug in site_user_groups(session, site.id)]
    rows = []
    for plan, user_group in kinds:
        plans = {plan.id} if plan is not None else set()
        groups = {user_group.id} if user_group is not None else set()
        choice = choose_tariff(group.tariffs, plans, spot_now, site.vat_rate_bp, groups)
        price = comparison_price(choice.tariff, spot_now, site.vat_rate_bp) if choice.allowed else None
        rows.append(PreviewRow(plan, choice, price, user_group))
    return rows


# --- subscription plans --------------------------------------------------------------------

def create_plan(session: Session, actor: User, site: Site, name: str, description: str = "",
                monthly_fee_minor: int = 0, active: bool = True) -> SubscriptionPlan:
    plan = SubscriptionPlan(site_id=site.id, name=name.strip(), description=description.strip(),
                            monthly_fee_minor=monthly_fee_minor, active=active)
    session.add(plan)
    session.flush()
    audit.record(session, actor, site.id, "plan", plan.id, "create", None,
                 audit.snapshot(plan, ("name", "description", "monthly_fee_minor", "active")))
    return plan


def plan_holders(session: Session, plan_id: int) -> list[UserSubscription]:
    """Active subscriptions to a plan, with their users, oldest first."""
    return list(session.scalars(
        select(UserSubscription).where(UserSubscription.plan_id == plan_id, UserSubscription.status == "active")
        .order_by(UserSubscription.started_at)))


def holder_counts(session: Session, site_id: int) -> dict[int, int]:
    rows = session.execute(
        select(UserSubscription.plan_id, func.count()).join(SubscriptionPlan)
        .where(SubscriptionPlan.site_id == site_id, UserSubscription.status == "active")
        .group_by(UserSubscription.plan_id))
    return {plan_id: count for plan_id, count in rows}


def holder_users(session: Session, subs: list[UserSubscription]) -> dict[int, User]:
    ids = {s.user_id for s in subs}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


# --- chargers ------------------------------------------------------------------------------

CHARGER_FIELDS = ("name", "enabled", "cp_type", "tariff_group_id", "owner_id")


@dataclass
class ChargerChange:
    name: str
    enabled: bool
    cp_type: str
    tariff_group_id: int | None
    owner_email: str = ""


def resolve_owner(session: Session, cp: ChargePoint, cp_type: str, owner_email: str) -> User | None:
    """The owner named by e-mail: a registered user with access to the site, on a personal charger only."""
    if not owner_email.strip():
        return None
    if cp_type != "personal":
        raise RuleError("owner_needs_personal", "owner_email")
    user = find_user(session, owner_email)
    if user is None:
        raise RuleError("owner_unknown", "owner_email")
    if session.scalar(select(Membership.id).where(Membership.site_id == cp.site_id,
                                                  Membership.user_id == user.id)) is None:
        raise RuleError("owner_not_member", "owner_email")
    return user


def update_charger(session: Session, actor: User, cp: ChargePoint, change: ChargerChange) -> bool:
    """Apply an edit; returns True when Enabled/Disabled changed (the caller asks the charger)."""
    if change.tariff_group_id is not None:
        group = session.get(TariffGroup, change.tariff_group_id)
        if group is None or group.site_id != cp.site_id:
            raise RuleError("other_site", "tariff_group_id")
    owner = resolve_owner(session, cp, change.cp_type, change.owner_email)
    before = audit.snapshot(cp, CHARGER_FIELDS)
    cp.name, cp.cp_type, cp.tariff_group_id = change.name.strip(), change.cp_type, change.tariff_group_id
    cp.owner_id = owner.id if owner is not None else None
    cp.enabled = change.enabled
    session.flush()
    after = audit.snapshot(cp, CHARGER_FIELDS)
    if audit.changed(before, after):
        audit.record(session, actor, cp.site_id, "charge_point", cp.id, "update", before, after)
    return before["enabled"] != after["enabled"]


# --- reports -------------------------------------------------------------------------------

# The report is built from the same figures as the residents' statements (statements.monthly_report).


def report_csv(rows: list[ReportRow], year: int, month: int, currency: str) -> str:
    """The report as CSV (semicolon separated, decimal comma: opens directly in Nordic spreadsheets)."""
    header = ["month", "email", "name", "sessions", "energy_kwh", f"cost_{currency.lower()}",
              f"subscriptions_{currency.lower()}", f"total_{currency.lower()}"]
    return csv_text(header, ([f"{year:04d}-{month:02d}", r.email, "guest" if r.guest else r.name, r.sessions,
                              f"{Decimal(r.energy_wh) / 1000:.3f}".replace(".", ","),
                              f"{Decimal(r.cost_minor) / 100:.2f}".replace(".", ","),
                              f"{Decimal(r.fees_minor) / 100:.2f}".replace(".", ","),
                              f"{Decimal(r.total_minor) / 100:.2f}".replace(".", ",")] for r in rows))
