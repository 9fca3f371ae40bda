"""Claiming a waiting charger in one step: registered to a site with a fresh secret, shown once.

An unknown identity becomes a new charge point (site, name, type, connectors, tariff group); a known
charger whose secret was wrong gets a new secret (its site and settings stay). The claim itself is one
conditional UPDATE of the waiting row, so two staff members claiming at once cannot both succeed. The
commit writes a charge point, so the change channel (portal:charger-changes) tells every node, and the
next handshake reads the new hash (the node's credential lookup never caches a refusal).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import ActionRequest, ChargePoint, Site, TariffGroup, User, WaitingCharger
from portal.services.people.secrets import hash_charger_secret, new_charger_secret
from portal.services.sites import audit
from portal.services.sites.onboarding import OnboardingError, add_charge_point
from portal.services.staff import roles


class ClaimRefused(Exception):
    """A claim that cannot be done; `code` is in portal.refusals.FLEET."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class NewCharger:
    site: Site
    name: str = ""
    cp_type: str = "private"
    connectors: int = 1
    tariff_group_id: int | None = None


@dataclass
class Claimed:
    charge_point: ChargePoint
    secret: str  # shown once, never stored in clear


def may_manage(user: User | None, site: Site | None) -> bool:
    """Support staff run the chargers of sites under an operating agreement that has not ended."""
    return roles.allowed(user, "support") and site is not None and site.agreement_status != "ended"


def _take(session: Session, actor: User, identity: str) -> WaitingCharger:
    """Mark the row claimed (one conditional UPDATE), or refuse."""
    row = session.scalar(select(WaitingCharger).where(WaitingCharger.identity == identity))
    if row is None:
        raise ClaimRefused("not_waiting")
    done = session.execute(update(WaitingCharger).where(
        WaitingCharger.id == row.id, WaitingCharger.claimed_at.is_(None)).values(
        claimed_at=utcnow(), claimed_by_id=actor.id).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise ClaimRefused("already_claimed")
    session.refresh(row)
    return row


def claim_new(session: Session, actor: User, identity: str, new: NewCharger, reason: str = "") -> Claimed:
    """Register an unknown identity at a site; refuses a site the actor cannot manage, a tariff group of
    another site, and an identity that became known since it was refused."""
    if not may_manage(actor, new.site):
        raise ClaimRefused("site_not_managed")
    if new.tariff_group_id is not None:
        group = session.get(TariffGroup, new.tariff_group_id)
        if group is None or group.site_id != new.site.id:
            raise ClaimRefused("tariff_group")
    row = _take(session, actor, identity)
    if row.charge_point_id is not None or session.scalar(select(ChargePoint.id).where(ChargePoint.identity == identity)):
        raise ClaimRefused("became_known")
    secret = new_charger_secret()
    try:
        cp = add_charge_point(session, identity, new.site, secret, new.connectors, name=new.name.strip(),
                              cp_type=new.cp_type, secret_hash=hash_charger_secret(secret))
    except OnboardingError:
        raise ClaimRefused("invalid") from None
    if new.tariff_group_id is not None:
        cp.tariff_group_id = new.tariff_group_id
    row.charge_point_id = cp.id
    audit.record(session, actor, new.site.id, "charge_point", cp.id, "claimed", area="staff", reason=reason or None,
                 after={"identity": cp.identity, "name": cp.name, "cp_type": cp.cp_type,
                        "connectors": new.connectors, "tariff_group_id": cp.tariff_group_id,
                        "refused_as": row.reason, "attempts": row.attempts})
    session.flush()
    return Claimed(cp, secret)


def claim_known(session: Session, actor: User, identity: str, reason: str = "") -> Claimed:
    """A known charger that kept failing: a new secret (lost rotations forgotten), its settings kept."""
    row = session.scalar(select(WaitingCharger).where(WaitingCharger.identity == identity))
    cp = row.charge_point if row is not None else None
    if row is not None and cp is None:
        raise ClaimRefused("not_known")
    if cp is not None and not may_manage(actor, cp.site):
        raise ClaimRefused("site_not_managed")
    row = _take(session, actor, identity)
    secret = new_charger_secret()
    cp.secret_hash = hash_charger_secret(secret)
    session.execute(update(ActionRequest).where(ActionRequest.charge_point_id == cp.id,
                                                ActionRequest.pending_secret_hash.is_not(None))
                    .values(pending_secret_hash=None).execution_options(synchronize_session=False))
    audit.record(session, actor, cp.site_id, "charge_point", cp.id, "secret_reset", area="staff", reason=reason or None,
                 after={"identity": cp.identity, "refused_as": row.reason, "attempts": row.attempts})
    session.flush()
    return Claimed(cp, secret)
