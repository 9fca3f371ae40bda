"""Who may see, manage and charge where. Plain functions over a Session; no Flask."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import (
    ChargePoint, Connector, IdTag, Membership, Site, User, UserGroup, UserGroupMember, UserSubscription,
)
from portal.services.billing.pricing import TariffChoice, choose_tariff

OCCUPIED_STATUSES = ("Charging", "SuspendedEV", "SuspendedEVSE", "Finishing")
STARTABLE_STATUSES = ("Available", "Preparing")

# Reasons a start is refused, in the order they are checked. The pages turn each into plain words.
REASONS = (
    "no_access", "personal_not_owner", "disabled", "no_tariff", "not_allowed",
    "unpaid", "offline", "faulted", "unavailable", "occupied", "reserved", "blocked_tag", "unknown_tag",
)


@dataclass(frozen=True)
class StartDecision:
    allowed: bool
    reason: str  # "ok" or one of REASONS
    tariff_choice: TariffChoice | None = None


def member_site_ids(session: Session, user_id: int) -> set[int]:
    return set(session.scalars(select(Membership.site_id).where(Membership.user_id == user_id)))


def membership(session: Session, user_id: int, site_id: int, as_of: datetime | None = None) -> Membership | None:
    """The user's membership of the site (with ``as_of``: only one that already existed then)."""
    query = select(Membership).where(Membership.user_id == user_id, Membership.site_id == site_id)
    if as_of is not None:
        query = query.where(Membership.created_at <= as_of)
    return session.scalar(query)


def can_view_site(session: Session, user: User, site_id: int) -> bool:
    if user.is_staff:
        return True
    return membership(session, user.id, site_id) is not None


def can_manage_site(session: Session, user: User, site_id: int) -> bool:
    """Board members of the site and operator admins."""
    if user.is_admin:
        return True
    m = membership(session, user.id, site_id)
    return m is not None and m.role == "board"


def visible_sites(session: Session, user: User) -> list[Site]:
    """Sites the user may look at: their own, or all for staff."""
    query = select(Site).order_by(Site.name)
    if not user.is_staff:
        query = query.join(Membership, Membership.site_id == Site.id).where(Membership.user_id == user.id)
    return list(session.scalars(query))


def can_see_charge_point(session: Session, user: User, cp: ChargePoint) -> bool:
    """Staff see all; public chargers are open to every account; otherwise site access (or ownership)."""
    return sees_charge_point(user, cp, False) or membership(session, user.id, cp.site_id) is not None


def sees_charge_point(user: User, cp: ChargePoint, has_site_access: bool) -> bool:
    """can_see_charge_point with the user's site access already known (one membership read per request)."""
    return user.is_staff or cp.cp_type == "public" or cp.owner_id == user.id or has_site_access


def active_plan_ids(session: Session, user_id: int, as_of: datetime | None = None) -> set[int]:
    """The plans the user subscribes to now (or, with ``as_of``, held at that moment)."""
    query = select(UserSubscription.plan_id).where(UserSubscription.user_id == user_id)
    if as_of is None:
        query = query.where(UserSubscription.status == "active")
    else:
        query = query.where(UserSubscription.started_at <= as_of,
                            UserSubscription.ended_at.is_(None) | (UserSubscription.ended_at > as_of))
    return set(session.scalars(query))


def user_group_ids(session: Session, user_id: int, site_id: int) -> set[int]:
    """The user groups of the site the user belongs to."""
    return set(session.scalars(
        select(UserGroupMember.group_id).join(UserGroup, UserGroup.id == UserGroupMember.group_id)
        .where(UserGroupMember.user_id == user_id, UserGroup.site_id == site_id)))


def tariff_for(session: Session, user_id: int | None, cp: ChargePoint, spot_now: Decimal | None = None,
               as_of: datetime | None = None) -> TariffChoice:
    """The one tariff that applies to this user at this charge point (DOMAIN.md rule)."""
    tariffs = cp.tariff_group.tariffs if cp.tariff_group else []
    plans = active_plan_ids(session, user_id, as_of) if user_id else set()
    groups = user_group_ids(session, user_id, cp.site_id) if user_id else set()
    return choose_tariff(tariffs, plans, spot_now, cp.site.vat_rate_bp, groups)


def decide_start(
    *,
    has_site_access: bool,
    cp: ChargePoint,
    user_id: int,
    choice: TariffChoice,
    connector: Connector | None = None,
    check_connector: bool = True,
    unpaid: bool = False,
) -> StartDecision:
    """The start rule on already-loaded facts: access, ownership, enabled, tariff, then the connector's state."""
    if cp.cp_type == "personal":
        if cp.owner_id != user_id:
            return StartDecision(False, "personal_not_owner", choice)
    elif cp.cp_type == "private" and not has_site_access:
        return StartDecision(False, "no_access", choice)
    if not cp.enabled:
        return StartDecision(False, "disabled", choice)
    if not choice.allowed:
        return StartDecision(False, choice.reason, choice)
    if unpaid:  # the board stops residents with long-unpaid statements (portal/services/payments)
        return StartDecision(False, "unpaid", choice)
    if check_connector:
        reason = connector_problem(cp, connector)
        if reason:
            return StartDecision(False, reason, choice)
    return StartDecision(True, "ok", choice)


def connector_problem(cp: ChargePoint, connector: Connector | None) -> str | None:
    """Why this connector cannot start a session now, or None."""
    if not cp.online:
        return "offline"
    whole = cp.connector(0)
    if whole is not None and whole.status == "Faulted":
        return "faulted"
    if connector is None:
        return "unavailable"
    if connector.status == "Faulted":
        return "faulted"
    if connector.status in OCCUPIED_STATUSES:
        return "occupied"
    if connector.status == "Reserved":
        return "reserved"
    if connector.status not in STARTABLE_STATUSES:
        return "unavailable"
    return None


def default_connector(cp: ChargePoint, connector_id: int | None) -> int | None:
    """The outlet a start without a choice goes to: the only one, when there is one."""
    if connector_id is None and len(cp.outlets) == 1:
        return cp.outlets[0].connector_id
    return connector_id


def start_refusal(cp: ChargePoint, connector_id: int | None, decision: StartDecision) -> StartDecision:
    """A start for the whole charger (no outlet) also needs the charger online."""
    if decision.allowed and connector_id is None and not cp.online:
        return StartDecision(False, "offline")
    return decision


def start_decision(
    session: Session, user: User, cp: ChargePoint, connector_id: int | None = None, check_connector: bool = True,
    as_of: datetime | None = None,
) -> StartDecision:
    """May this user start charging at this charge point (and connector) now (or, with ``as_of``, by the
    site access and subscriptions they held at that moment)?"""
    has_access = membership(session, user.id, cp.site_id, as_of) is not None
    choice = tariff_for(session, user.id, cp, as_of=as_of)
    connector = cp.connector(connector_id) if connector_id is not None else None
    return decide_start(
        has_site_access=has_access, cp=cp, user_id=user.id, choice=choice,
        connector=connector, check_connector=check_connector,
        unpaid=as_of is None and unpaid_stop(session, user.id, cp),
    )


def unpaid_stop(session: Session, user_id: int, cp: ChargePoint) -> bool:
    """The board's rule (Site.unpaid_block_days) for this user now: no query at all when the site has none,
    else one indexed query (statements by user, site and paid state)."""
    block_days = getattr(cp.site, "unpaid_block_days", None)
    if block_days is None:
        return False
    from portal.services.charging.start_facts import blocked_for_unpaid
    from portal.services.payments.states import oldest_unpaid_due

    today = datetime.now(timezone.utc).date()
    return blocked_for_unpaid(block_days, oldest_unpaid_due(session, user_id, cp.site_id, today), today)


def tag_decision(session: Session, tag_value: str, cp: ChargePoint, as_of: datetime | None = None) -> StartDecision:
    """May this id tag (RFID or a user's virtual tag) charge at this charge point? Used by Authorize/StartTransaction;
    ``as_of`` judges a start the charger made earlier (offline) by the access the user had then."""
    tag = session.scalar(select(IdTag).where(IdTag.tag == tag_value))
    if tag is None or tag.user_id is None:
        return StartDecision(False, "unknown_tag")
    if tag.blocked or (tag.user is not None and not tag.user.active):
        return StartDecision(False, "blocked_tag")
    user = tag.user
    return start_decision(session, user, cp, check_connector=False, as_of=as_of)
