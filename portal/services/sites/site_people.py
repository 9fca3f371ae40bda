"""A site's people (Flask-free): invites by e-mail, members and their roles, user groups.

Every change writes an AuditEntry with the values before and after. Functions flush, never commit.
Rule violations raise site_admin.RuleError with a code (portal.refusals.SITE_RULES has their words).
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import (
    ChargePoint, Invite, Membership, Site, SubscriptionPlan, User, UserGroup, UserGroupMember, UserSubscription,
)
from portal.services.sites import audit
from portal.services.sites.onboarding import add_member, find_user, normalise_email
from portal.services.sites.site_admin import RuleError

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


INVITE_VALID_DAYS = 30  # a link works this long after it was (re)sent


def _new_token(invite: Invite) -> str:
    """A fresh link: the old one stops working and the invite is valid INVITE_VALID_DAYS from now."""
    token = secrets.token_urlsafe(24)
    invite.token_hash = _token_hash(token)
    invite.send_count = (invite.send_count or 0) + 1
    invite.last_sent_at = utcnow()
    invite.expires_at = invite.last_sent_at + timedelta(days=INVITE_VALID_DAYS)
    return token


def invite_expired(invite: Invite, now: datetime | None = None) -> bool:
    if invite.expires_at is None:
        return False
    expires = invite.expires_at if invite.expires_at.tzinfo else invite.expires_at.replace(tzinfo=timezone.utc)
    return (now or utcnow()) >= expires


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
    if invite_expired(invite):
        raise RuleError("invite_expired")
    if not invite_matches(invite, user):
        raise RuleError("invite_other_address")
    if user.email_verified_at is None:
        raise RuleError("email_not_verified")
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
