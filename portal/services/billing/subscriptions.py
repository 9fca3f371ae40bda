"""Residents start and end their own subscriptions to a site's plans."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import Site, SubscriptionPlan, User, UserSubscription
from portal.services.charging.access import member_site_ids


class SubscriptionError(ValueError):
    """A subscription change that is not allowed; `.code` names the rule."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class PlanRow:
    plan: SubscriptionPlan
    subscription: UserSubscription | None  # the user's active subscription, if any
    former: bool = False  # a site the user no longer belongs to: the subscription can only be ended

    @property
    def active(self) -> bool:
        return self.subscription is not None


def sites_with_plans(session: Session, user: User) -> list[tuple[Site, list[PlanRow]]]:
    """Each site the user belongs to, with its plans and the user's own status on each; then each site the
    user has left (or was removed from) while a subscription there is still active, with only those."""
    member_of = member_site_ids(session, user.id)
    mine = {s.plan_id: s for s in _active(session, user.id)}
    held = {p.id: p for p in session.scalars(select(SubscriptionPlan).where(SubscriptionPlan.id.in_(mine)))}
    former = {p.site_id for p in held.values()} - member_of
    if not member_of and not former:
        return []
    sites = session.scalars(select(Site).where(Site.id.in_(member_of | former)).order_by(Site.name)).all()
    plans = session.scalars(select(SubscriptionPlan).where(SubscriptionPlan.site_id.in_(member_of))
                            .order_by(SubscriptionPlan.name)).all()
    result = []
    for site in sites:
        if site.id in member_of:
            result.append((site, [PlanRow(p, mine.get(p.id)) for p in plans if p.site_id == site.id]))
        else:
            kept = sorted((p for p in held.values() if p.site_id == site.id), key=lambda p: p.name)
            result.append((site, [PlanRow(p, mine[p.id], former=True) for p in kept]))
    return result


def _active(session: Session, user_id: int, plan_id: int | None = None) -> list[UserSubscription]:
    query = select(UserSubscription).where(UserSubscription.user_id == user_id, UserSubscription.status == "active")
    if plan_id is not None:
        query = query.where(UserSubscription.plan_id == plan_id)
    return list(session.scalars(query))


def plan_for(session: Session, user: User, plan_id: int, *, ending: bool = False) -> SubscriptionPlan | None:
    """A plan of a site the user belongs to (anything else is None: never another site's plan). To end a
    subscription, a plan the user still holds is enough: leaving a site never traps anyone in a plan."""
    plan = session.get(SubscriptionPlan, plan_id)
    if plan is None:
        return None
    if plan.site_id in member_site_ids(session, user.id) or (ending and _active(session, user.id, plan.id)):
        return plan
    return None


def activate(session: Session, user: User, plan: SubscriptionPlan) -> UserSubscription:
    """Start a subscription to an open plan (idempotent)."""
    existing = _active(session, user.id, plan.id)
    if existing:
        return existing[0]
    if not plan.active:
        raise SubscriptionError("closed")
    sub = UserSubscription(user_id=user.id, plan_id=plan.id, status="active")
    session.add(sub)
    session.flush()
    return sub


def deactivate(session: Session, user: User, plan: SubscriptionPlan) -> int:
    """End the user's own subscription to the plan; returns how many were ended."""
    subs = _active(session, user.id, plan.id)
    for sub in subs:
        sub.status, sub.ended_at = "ended", utcnow()
    session.flush()
    return len(subs)
