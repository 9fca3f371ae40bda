"""Site management operations for board members and operator admins (Flask-free).

Every change writes an AuditEntry with the values before and after. Functions flush, never commit.
Rule violations raise RuleError with a code the pages turn into plain words.
"""
from __future__ import annotations

import csv
import hashlib
import io
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import (
    ChargePoint, Invite, Membership, Site, SubscriptionPlan, Tariff, TariffGroup, Transaction, User,
    UserGroup, UserGroupMember, UserSubscription,
)
from portal.services import audit
from portal.services.onboarding import add_member, find_user, normalise_email
from portal.services.pricing import TariffChoice, choose_tariff, comparison_price


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


def _tariff_state(t: Tariff) -> dict:
    state = audit.snapshot(t, TARIFF_FIELDS)
    state["restrictions"] = sorted(p.id for p in t.restrictions)
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

    plan: SubscriptionPlan | None  # None: a user without any subscription
    choice: TariffChoice
    unit_price: Decimal | None  # per kWh incl. VAT, for an allowed standard or spot tariff


def preview(session: Session, group: TariffGroup, site: Site, spot_now: Decimal | None = None) -> list[PreviewRow]:
    """The tariff rule of the start screen (pricing.choose_tariff) for each kind of user."""
    rows = []
    for plan in [None, *site_plans(session, site.id)]:
        plans = {plan.id} if plan is not None else set()
        choice = choose_tariff(group.tariffs, plans, spot_now, site.vat_rate_bp)
        price = comparison_price(choice.tariff, spot_now, site.vat_rate_bp) if choice.allowed else None
        rows.append(PreviewRow(plan, choice, price))
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


# --- invites and members -------------------------------------------------------------------

@dataclass
class InviteLines:
    """A pasted list of addresses, one per line, sorted into valid, invalid and duplicate lines."""

    emails: list[str] = field(default_factory=list)
    invalid: list[tuple[int, str]] = field(default_factory=list)  # (line number, text)
    duplicates: list[tuple[int, str]] = field(default_factory=list)


def parse_invite_lines(text: str) -> InviteLines:
    """One address per line; blank lines are skipped, case does not matter, trailing , or ; is ignored."""
    result, seen = InviteLines(), set()
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip().strip(",;").strip()
        if not line:
            continue
        try:
            email = normalise_email(validate_email(line, check_deliverability=False,
                                                   test_environment=True).normalized)
        except EmailNotValidError:
            result.invalid.append((number, line))
            continue
        if email in seen:
            result.duplicates.append((number, email))
            continue
        seen.add(email)
        result.emails.append(email)
    return result


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token(invite: Invite) -> str:
    token = secrets.token_urlsafe(24)
    invite.token_hash = _token_hash(token)
    invite.send_count = (invite.send_count or 0) + 1
    invite.last_sent_at = utcnow()
    return token


@dataclass
class InviteOutcome:
    sent: list[tuple[Invite, str]] = field(default_factory=list)  # (invite, token for the link)
    already_member: list[str] = field(default_factory=list)
    already_invited: list[str] = field(default_factory=list)


def _member_emails(session: Session, site_id: int) -> set[str]:
    return set(session.scalars(
        select(func.lower(User.email)).join(Membership).where(Membership.site_id == site_id)))


def pending_invites(session: Session, site_id: int) -> list[Invite]:
    return list(session.scalars(
        select(Invite).where(Invite.site_id == site_id, Invite.status == "pending").order_by(Invite.email)))


def create_invites(session: Session, actor: User, site: Site, emails: list[str]) -> InviteOutcome:
    """A pending invite (private access) per address; members and pending invitees are skipped."""
    outcome = InviteOutcome()
    members = _member_emails(session, site.id)
    pending = {i.email for i in pending_invites(session, site.id)}
    for email in emails:
        if email in members:
            outcome.already_member.append(email)
        elif email in pending:
            outcome.already_invited.append(email)
        else:
            invite = Invite(site_id=site.id, email=email, role="resident", status="pending",
                            invited_by_id=actor.id, send_count=0)
            token = _new_token(invite)
            session.add(invite)
            session.flush()
            audit.record(session, actor, site.id, "invite", invite.id, "create", None, {"email": email})
            outcome.sent.append((invite, token))
    return outcome


def resend_invite(session: Session, actor: User, invite: Invite) -> str:
    """A fresh link for a pending invite (the old link stops working)."""
    if invite.status != "pending":
        raise RuleError("invite_not_pending")
    token = _new_token(invite)
    session.flush()
    audit.record(session, actor, invite.site_id, "invite", invite.id, "resend", None,
                 {"send_count": invite.send_count})
    return token


def revoke_invite(session: Session, actor: User, invite: Invite) -> None:
    if invite.status != "pending":
        raise RuleError("invite_not_pending")
    invite.status = "revoked"
    session.flush()
    audit.record(session, actor, invite.site_id, "invite", invite.id, "revoke",
                 {"status": "pending"}, {"status": "revoked"})


def invite_by_token(session: Session, token: str) -> Invite | None:
    return session.scalar(select(Invite).where(Invite.token_hash == _token_hash(token)))


def invite_matches(invite: Invite, user: User) -> bool:
    """An invite is for the address it was sent to: a forwarded link gives nobody else access."""
    return user.email.strip().lower() == invite.email.strip().lower()


def masked_email(email: str) -> str:
    """o•••@example.no: enough for the invitee to recognise, nothing for whoever found the link."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


def accept_invite(session: Session, invite: Invite, user: User) -> Membership:
    """The invitee's account gets private access to the site."""
    if invite.status != "pending":
        raise RuleError("invite_not_pending")
    if not invite_matches(invite, user):
        raise RuleError("invite_other_address")
    member = add_member(session, user, invite.site, invite.role)
    invite.status, invite.accepted_user_id, invite.accepted_at = "accepted", user.id, utcnow()
    session.flush()
    audit.record(session, user, invite.site_id, "invite", invite.id, "accept",
                 {"status": "pending"}, {"status": "accepted", "user_id": user.id})
    return member


def site_members(session: Session, site_id: int) -> list[Membership]:
    return list(session.scalars(
        select(Membership).join(User).where(Membership.site_id == site_id).order_by(User.email)))


def remove_member(session: Session, actor: User, site: Site, user_id: int) -> int:
    """Revoke a user's access and group memberships at a site; returns how many subscriptions they keep."""
    if user_id == actor.id:
        raise RuleError("remove_self")
    member = session.scalar(select(Membership).where(Membership.site_id == site.id, Membership.user_id == user_id))
    if member is None:
        raise RuleError("not_member")
    user = session.get(User, user_id)
    before = {"role": member.role, "email": user.email}
    session.delete(member)
    for invite in session.scalars(select(Invite).where(
            Invite.site_id == site.id, Invite.status.in_(("pending", "accepted")),
            (Invite.accepted_user_id == user_id) | (func.lower(Invite.email) == user.email.lower()))):
        invite.status = "revoked"
    group_ids = select(UserGroup.id).where(UserGroup.site_id == site.id)
    removed = session.execute(delete(UserGroupMember).where(
        UserGroupMember.user_id == user_id, UserGroupMember.group_id.in_(group_ids)))
    owned = list(session.scalars(select(ChargePoint).where(
        ChargePoint.site_id == site.id, ChargePoint.owner_id == user_id)))
    for charger in owned:  # an owner must have access to the site; authentication comes back on
        charger.owner_id = None
        charger.auth_required = True
    session.flush()
    kept = session.scalar(select(func.count()).select_from(UserSubscription).join(SubscriptionPlan).where(
        UserSubscription.user_id == user_id, UserSubscription.status == "active",
        SubscriptionPlan.site_id == site.id)) or 0
    audit.record(session, actor, site.id, "member", user_id, "remove", before,
                 {"groups_left": removed.rowcount, "subscriptions_kept": kept,
                  "chargers_unowned": [c.identity for c in owned]})
    return kept


# --- user groups ---------------------------------------------------------------------------

def site_user_groups(session: Session, site_id: int) -> list[UserGroup]:
    return list(session.scalars(select(UserGroup).where(UserGroup.site_id == site_id).order_by(UserGroup.name)))


def create_user_group(session: Session, actor: User, site: Site, name: str) -> UserGroup:
    name = name.strip()
    if session.scalar(select(UserGroup.id).where(UserGroup.site_id == site.id, UserGroup.name == name)):
        raise RuleError("duplicate_name", "name")
    group = UserGroup(site_id=site.id, name=name)
    session.add(group)
    session.flush()
    audit.record(session, actor, site.id, "user_group", group.id, "create", None, {"name": name})
    return group


def add_group_member(session: Session, actor: User, group: UserGroup, email: str) -> UserGroupMember:
    """Add a user with access to the group's site, by e-mail."""
    user = find_user(session, email)
    if user is None:
        raise RuleError("unknown_user", "email")
    if session.scalar(select(Membership.id).where(Membership.site_id == group.site_id,
                                                  Membership.user_id == user.id)) is None:
        raise RuleError("not_member", "email")
    if any(m.user_id == user.id for m in group.members):
        raise RuleError("already_in_group", "email")
    member = UserGroupMember(group_id=group.id, user_id=user.id)
    group.members.append(member)
    session.flush()
    audit.record(session, actor, group.site_id, "user_group", group.id, "add_member", None, {"user_id": user.id})
    return member


def remove_group_member(session: Session, actor: User, group: UserGroup, user_id: int) -> None:
    member = next((m for m in group.members if m.user_id == user_id), None)
    if member is None:
        raise RuleError("not_in_group")
    group.members.remove(member)
    session.flush()
    audit.record(session, actor, group.site_id, "user_group", group.id, "remove_member", {"user_id": user_id}, None)


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

@dataclass
class ReportRow:
    user_id: int | None
    email: str
    name: str
    sessions: int = 0
    energy_wh: int = 0
    cost_minor: int = 0


def month_bounds(year: int, month: int, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    start = datetime.combine(date(year, month, 1), time(0), zone)
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return start, datetime.combine(nxt, time(0), zone)


def monthly_report(session: Session, site: Site, year: int, month: int) -> list[ReportRow]:
    """Consumption and cost per resident for sessions started in the month (site's time zone)."""
    start, end = month_bounds(year, month, site.timezone)
    txs = session.scalars(
        select(Transaction).join(ChargePoint, ChargePoint.id == Transaction.charge_point_id)
        .where(ChargePoint.site_id == site.id, Transaction.status == "completed",
               Transaction.started_at >= start, Transaction.started_at < end))
    rows: dict[int | None, ReportRow] = {}
    for tx in txs:
        if tx.refused_at_start:
            continue
        row = rows.get(tx.user_id)
        if row is None:
            user = tx.user
            row = rows[tx.user_id] = ReportRow(tx.user_id, user.email if user else "", user.name if user else "")
        row.sessions += 1
        row.energy_wh += tx.energy_wh or 0
        row.cost_minor += tx.cost_minor or 0
    return sorted(rows.values(), key=lambda r: (r.user_id is None, r.email))


def report_csv(rows: list[ReportRow], year: int, month: int, currency: str) -> str:
    """The report as CSV (semicolon separated, decimal comma: opens directly in Nordic spreadsheets)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["month", "email", "name", "sessions", "energy_kwh", f"cost_{currency.lower()}"])
    for r in rows:
        writer.writerow([f"{year:04d}-{month:02d}", r.email, r.name, r.sessions,
                         f"{Decimal(r.energy_wh) / 1000:.3f}".replace(".", ","),
                         f"{Decimal(r.cost_minor) / 100:.2f}".replace(".", ",")])
    return out.getvalue()
