"""Board tools: board roles, renaming and deleting tariffs, tariff groups, plans and user groups,
closing plans to new subscribers and repricing them for the next period (Flask-free).

Every change writes an AuditEntry. A delete is refused with a RuleError while something still
uses the thing (a charger, an active subscription, a tariff restriction), so nothing breaks
silently. Functions flush, never commit.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import (
    ChargePoint, Membership, Site, SubscriptionPlan, Tariff, TariffGroup, User, UserGroup, UserSubscription,
)
from portal.models.tariffs import tariff_group_tariffs, tariff_restrictions, tariff_user_groups
from portal.services.sites import audit
from portal.services.sites.site_admin import RuleError

RENAMABLE = {"tariff": Tariff, "tariff_group": TariffGroup, "plan": SubscriptionPlan, "user_group": UserGroup}


# --- board roles ---------------------------------------------------------------------------

def board_count(session: Session, site_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Membership).where(
        Membership.site_id == site_id, Membership.role == "board")) or 0


def set_role(session: Session, actor: User, site: Site, user_id: int, role: str) -> Membership:
    """Make a member a board member or take it back; the site always keeps at least one board member."""
    if role not in ("resident", "board"):
        raise RuleError("bad_role")
    member = session.scalar(select(Membership).where(Membership.site_id == site.id, Membership.user_id == user_id))
    if member is None:
        raise RuleError("not_member")
    if member.role == role:
        return member
    if member.role == "board" and board_count(session, site.id) <= 1:
        raise RuleError("last_board")
    before = {"role": member.role, "email": member.user.email}
    member.role = role
    session.flush()
    audit.record(session, actor, site.id, "member", user_id, "role", before, {"role": role, "email": member.user.email})
    return member


# --- rename and delete -----------------------------------------------------------------------

def _name_taken(session: Session, model, site_id: int, name: str, own_id: int) -> bool:
    return session.scalar(select(model.id).where(
        model.site_id == site_id, func.lower(model.name) == name.lower(), model.id != own_id).limit(1)) is not None


def rename(session: Session, actor: User, obj, name: str) -> None:
    """Rename a tariff, tariff group, plan or user group (names are unique per site and kind)."""
    name = " ".join(name.split())
    if not name:
        raise RuleError("name_required", "name")
    kind = next(k for k, model in RENAMABLE.items() if isinstance(obj, model))
    if _name_taken(session, type(obj), obj.site_id, name, obj.id):
        raise RuleError("duplicate_name", "name")
    if obj.name == name:
        return
    before = {"name": obj.name}
    obj.name = name
    session.flush()
    audit.record(session, actor, obj.site_id, kind, obj.id, "rename", before, {"name": name})


def tariff_in_use(session: Session, tariff: Tariff) -> int:
    """How many chargers get their price from a group this tariff is attached to."""
    groups = select(tariff_group_tariffs.c.tariff_group_id).where(tariff_group_tariffs.c.tariff_id == tariff.id)
    return session.scalar(select(func.count()).select_from(ChargePoint).where(
        ChargePoint.tariff_group_id.in_(groups))) or 0


def group_in_use(session: Session, group: TariffGroup) -> int:
    return session.scalar(select(func.count()).select_from(ChargePoint).where(
        ChargePoint.tariff_group_id == group.id)) or 0


def plan_in_use(session: Session, plan: SubscriptionPlan) -> int:
    return session.scalar(select(func.count()).select_from(UserSubscription).where(
        UserSubscription.plan_id == plan.id, UserSubscription.status == "active")) or 0


def plan_limits_tariffs(session: Session, plan: SubscriptionPlan) -> int:
    """Tariffs limited to this plan: deleting it would open them to everybody."""
    return session.scalar(select(func.count()).select_from(tariff_restrictions).where(
        tariff_restrictions.c.plan_id == plan.id)) or 0


def user_group_in_use(session: Session, group: UserGroup) -> int:
    return session.scalar(select(func.count()).select_from(tariff_user_groups).where(
        tariff_user_groups.c.user_group_id == group.id)) or 0


IN_USE = {"tariff": [(tariff_in_use, "tariff_in_use")], "tariff_group": [(group_in_use, "group_in_use")],
          "plan": [(plan_in_use, "plan_in_use"), (plan_limits_tariffs, "plan_limits_tariffs")],
          "user_group": [(user_group_in_use, "user_group_in_use")]}


def delete(session: Session, actor: User, obj) -> None:
    """Delete it, unless a charger, an active subscription or a tariff still uses it (RuleError)."""
    kind = next(k for k, model in RENAMABLE.items() if isinstance(obj, model))
    for counter, code in IN_USE[kind]:
        if counter(session, obj):
            raise RuleError(code)
    audit.record(session, actor, obj.site_id, kind, obj.id, "delete", {"name": obj.name}, None)
    session.delete(obj)
    session.flush()


# --- plans: open/closed, next period's price ---------------------------------------------------

def set_plan_open(session: Session, actor: User, plan: SubscriptionPlan, is_open: bool) -> None:
    """A closed plan takes no new subscribers; those who hold it keep it."""
    if plan.active == is_open:
        return
    plan.active = is_open
    session.flush()
    audit.record(session, actor, plan.site_id, "plan", plan.id, "open" if is_open else "close",
                 {"active": not is_open}, {"active": is_open})


def next_period_start(site: Site, now: datetime | None = None) -> date:
    """The 1st of next month in the site's time zone: statements are monthly, so prices change then."""
    today = (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(site.timezone)).date()
    return (today.replace(day=1) + timedelta(days=32)).replace(day=1)


def reprice_plan(session: Session, actor: User, plan: SubscriptionPlan, site: Site, fee_minor: int,
                 now: datetime | None = None) -> date:
    """Set the monthly fee from the next period on; the current month keeps the current fee."""
    if fee_minor < 0:
        raise RuleError("negative_fee", "fee")
    start = next_period_start(site, now)
    roll_over(plan, start)
    before = {"monthly_fee_minor": plan.monthly_fee_minor, "next_fee_minor": plan.next_fee_minor}
    plan.next_fee_minor, plan.next_fee_from = fee_minor, start
    session.flush()
    audit.record(session, actor, plan.site_id, "plan", plan.id, "reprice", before,
                 {"monthly_fee_minor": plan.monthly_fee_minor, "next_fee_minor": fee_minor,
                  "next_fee_from": start.isoformat()})
    return start


def roll_over(plan: SubscriptionPlan, today: date) -> None:
    """A next price whose period has begun becomes the plan's price."""
    if plan.next_fee_minor is not None and plan.next_fee_from is not None and plan.next_fee_from <= today:
        plan.monthly_fee_minor, plan.next_fee_minor, plan.next_fee_from = plan.next_fee_minor, None, None
