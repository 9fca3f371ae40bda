"""One page per person for support: find someone by name, e-mail, phone or RFID tag, and read everything
support needs on a phone call in a few bounded queries (the newest RECENT of each list, with links onward).

Flask-free; reads only. A partial phone number or tag finds the person: phone numbers are compared by their
digits, so numbers stored before they were checked ("912 34 567", "0047 ...") are found too, and a number on
one of the person's tickets counts as theirs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from portal import phones
from portal.models import (
    ActionRequest, ChargePoint, Favourite, IdTag, Invite, LoginSession, Membership, Site, Statement, StatementLine,
    SubscriptionPlan, SupportTicket, Transaction, User, UserGroup, UserGroupMember, UserSubscription,
)
from portal.services.helpdesk.tickets import OPEN_STATES, user_chargers
from portal.services.people import login_sessions
from portal.textnorm import fold

RECENT = 10
SEARCH_LIMIT = 50
MIN_PHONE_DIGITS = 4
MIN_TAG_CHARS = 3
_PHONE_LIKE = re.compile(r"[\d\s+\-().]+")
_SEPARATORS = " -+()./"
COUNTRY_CODES = ("47", "46")


@dataclass(frozen=True)
class Hit:
    user: User
    matched: str  # name | email | phone | tag
    detail: str = ""  # the number or tag that matched


def _like(text: str) -> str:
    """A LIKE pattern that finds `text` anywhere (its own % and _ taken literally, escape character \\)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _digits(column) -> ColumnElement:
    """The column with the usual separators taken out, in SQL (old numbers were stored as typed)."""
    expr = column
    for ch in _SEPARATORS:
        expr = func.replace(expr, ch, "")
    return expr


def phone_variants(text: str) -> set[str]:
    """Digit strings to look for: what was typed, and for a whole number its national and international forms."""
    if not _PHONE_LIKE.fullmatch(text or ""):
        return set()
    digits = phones.search_digits(text)
    found = {digits} if len(digits) >= MIN_PHONE_DIGITS else set()
    if text.lstrip().startswith(("+", "00")):  # a part typed with its country code: also without it
        found |= {digits[2:] for code in COUNTRY_CODES
                  if digits.startswith(code) and len(digits) - 2 >= MIN_PHONE_DIGITS}
    for region in phones.ALLOWED_REGIONS:
        try:
            e164 = phones.to_e164(text, region=region)
        except phones.PhoneError:
            continue
        found.add(e164[1:])
        found.add(e164[3:])  # the national number (country codes 46 and 47 are two digits)
    return found


def search(session: Session, text: str, limit: int = SEARCH_LIMIT) -> list[Hit]:
    """People whose name, e-mail, phone number (or a ticket's) or RFID tag contains what was typed."""
    text = (text or "").strip()[:100]
    if not text:
        return []
    hits: dict[int, Hit] = {}
    pattern = _like(text)
    folded = fold(text)
    by_name = User.search_name.like(_like(folded), escape="\\") if folded else false()
    for user in session.scalars(select(User).where(or_(by_name, User.email.ilike(pattern, escape="\\")))
                                .order_by(User.email).limit(limit)):
        hits.setdefault(user.id, Hit(user, "email" if text.lower() in user.email.lower() else "name"))
    for variant in sorted(phone_variants(text), key=len, reverse=True):
        _phone_hits(session, variant, hits, limit)
    tag = "".join(text.split())
    if len(tag) >= MIN_TAG_CHARS:
        rows = session.execute(select(User, IdTag.tag).join(IdTag, IdTag.user_id == User.id)
                               .where(IdTag.tag.ilike(_like(tag), escape="\\")).order_by(IdTag.tag).limit(limit))
        for user, value in rows:
            hits.setdefault(user.id, Hit(user, "tag", value))
    return sorted(hits.values(), key=lambda h: h.user.email)[:limit]


def _phone_hits(session: Session, digits: str, hits: dict[int, Hit], limit: int) -> None:
    pattern = _like(digits)
    for user in session.scalars(select(User).where(User.phone != "", _digits(User.phone).like(pattern, escape="\\"))
                                .limit(limit)):
        hits.setdefault(user.id, Hit(user, "phone", phones.display_typed(user.phone)))
    rows = session.execute(select(User, SupportTicket.requester_phone)
                           .join(SupportTicket, SupportTicket.requester_id == User.id)
                           .where(_digits(SupportTicket.requester_phone).like(pattern, escape="\\")).limit(limit))
    for user, number in rows:
        hits.setdefault(user.id, Hit(user, "phone", number))


# --- the page --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SessionRow:
    tx: Transaction
    billing: str  # running | refused | closed_billed | closed_not_billed | not_billed | billed | to_bill
    document: Statement | None = None


@dataclass
class PersonPage:
    user: User
    memberships: list[Membership] = field(default_factory=list)
    groups: list[tuple[str, str]] = field(default_factory=list)  # (group, site name)
    subscriptions: list[tuple] = field(default_factory=list)  # (plan, site name, since), active ones
    invites: list[Invite] = field(default_factory=list)
    chargers: list[ChargePoint] = field(default_factory=list)  # at their sites, and their own
    tags: list[IdTag] = field(default_factory=list)
    favourites: list[Favourite] = field(default_factory=list)
    sessions: list[SessionRow] = field(default_factory=list)
    session_count: int = 0
    requests: list[ActionRequest] = field(default_factory=list)
    documents: list[Statement] = field(default_factory=list)
    tickets: list[SupportTicket] = field(default_factory=list)
    open_tickets: list[SupportTicket] = field(default_factory=list)
    devices: list[tuple[LoginSession, str]] = field(default_factory=list)


def billing_decision(tx: Transaction, document: Statement | None) -> str:
    """How the session is billed, in one word for the page."""
    if tx.is_active:
        return "running"
    if tx.refused_at_start:
        return "refused"
    if tx.closed_by_support:
        return "closed_billed" if tx.close_billed else "closed_not_billed"
    if not tx.billable:
        return "not_billed"
    return "billed" if document is not None else "to_bill"


def _sessions(session: Session, user: User) -> list[SessionRow]:
    txs = list(session.scalars(select(Transaction).options(selectinload(Transaction.charge_point))
                               .where(Transaction.user_id == user.id)
                               .order_by(Transaction.started_at.desc(), Transaction.id.desc()).limit(RECENT)))
    docs = dict(session.execute(
        select(StatementLine.transaction_id, Statement).join(Statement, Statement.id == StatementLine.statement_id)
        .where(StatementLine.transaction_id.in_([tx.id for tx in txs]), StatementLine.credits_line_id.is_(None),
               StatementLine.rebills_line_id.is_(None))).all()) if txs else {}
    return [SessionRow(tx, billing_decision(tx, docs.get(tx.id)), docs.get(tx.id)) for tx in txs]


def _access(session: Session, user: User, page: PersonPage) -> None:
    page.memberships = list(session.scalars(select(Membership).options(selectinload(Membership.site))
                                            .where(Membership.user_id == user.id).order_by(Membership.id)))
    page.groups = list(session.execute(  # (group, site)
        select(UserGroup.name, Site.name).join(UserGroupMember, UserGroupMember.group_id == UserGroup.id)
        .join(Site, Site.id == UserGroup.site_id).where(UserGroupMember.user_id == user.id)
        .order_by(Site.name, UserGroup.name)))
    page.subscriptions = list(session.execute(
        select(SubscriptionPlan.name, Site.name, UserSubscription.started_at)
        .join(UserSubscription, UserSubscription.plan_id == SubscriptionPlan.id)
        .join(Site, Site.id == SubscriptionPlan.site_id)
        .where(UserSubscription.user_id == user.id, UserSubscription.status == "active")
        .order_by(Site.name, SubscriptionPlan.name)))
    page.invites = list(session.scalars(
        select(Invite).options(selectinload(Invite.site))
        .where(func.lower(Invite.email) == user.email.lower(), Invite.status == "pending").order_by(Invite.id)))
    page.chargers = user_chargers(session, user)


def person_page(session: Session, user: User, limits: login_sessions.SessionLimits) -> PersonPage:
    """Everything on the person's page; each list is the newest RECENT (the counts say how many in all)."""
    page = PersonPage(user)
    _access(session, user, page)
    page.tags = list(session.scalars(select(IdTag).where(IdTag.user_id == user.id, IdTag.kind == "rfid")
                                     .order_by(IdTag.created_at, IdTag.id)))
    page.favourites = list(session.scalars(select(Favourite).where(Favourite.user_id == user.id)
                                           .order_by(Favourite.id).limit(RECENT)))
    page.sessions = _sessions(session, user)
    page.session_count = session.scalar(select(func.count()).select_from(Transaction)
                                      .where(Transaction.user_id == user.id)) or 0
    page.requests = list(session.scalars(
        select(ActionRequest).options(selectinload(ActionRequest.charge_point))
        .where(or_(ActionRequest.requested_by_id == user.id,  # theirs, and support's stops of their sessions
                   ActionRequest.transaction_id.in_(select(Transaction.id).where(Transaction.user_id == user.id))))
        .order_by(ActionRequest.created_at.desc(), ActionRequest.id.desc()).limit(RECENT)))
    page.documents = list(session.scalars(
        select(Statement).where(Statement.user_id == user.id)
        .order_by(Statement.year.desc(), Statement.month.desc(), Statement.id.desc()).limit(RECENT)))
    page.tickets = list(session.scalars(
        select(SupportTicket).where(SupportTicket.requester_id == user.id)
        .order_by(SupportTicket.updated_at.desc(), SupportTicket.id.desc()).limit(RECENT)))
    page.open_tickets = open_tickets(session, user)
    page.devices = [(row, login_sessions.device_label(row.user_agent))
                    for row in login_sessions.active(session, user.id, limits)[:RECENT]]
    return page


def open_tickets(session: Session, user: User) -> list[SupportTicket]:
    """The person's tickets still open, for noting a call on one of them."""
    return list(session.scalars(
        select(SupportTicket).where(SupportTicket.requester_id == user.id, SupportTicket.status.in_(OPEN_STATES))
        .order_by(SupportTicket.updated_at.desc(), SupportTicket.id.desc()).limit(RECENT)))
