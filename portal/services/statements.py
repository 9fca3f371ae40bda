"""Monthly statements per resident and site, and the board's monthly report built from the same figures.

Until a payment provider is integrated residents are invoiced: on the 1st the worker job
``worker.jobs.statements.issue_monthly_statements`` issues, for the month before, one statement
per resident and site with

- every completed session started in the month (site time zone) at the site's chargers, at the
  cost and VAT stored on the session (sessions refused at start are never billed);
- every subscription to one of the site's plans held during the month, charged pro rata for the
  days held: fee x days held / days in the month, rounded half up to the øre.

VAT is stated per line and the statement's totals are the sums of its lines, so the board's
report (``monthly_report``, computed by the same ``drafts`` function) equals the sum of the
statements to the øre. Functions flush, never commit; issuing is idempotent per (site, user, month).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import (
    ChargePoint, Membership, Site, Statement, StatementLine, SubscriptionPlan, Transaction, User, UserSubscription,
)
from portal.services.pricing import vat_part


def month_bounds(year: int, month: int, tz: str) -> tuple[datetime, datetime]:
    """The month as [start, end) in the site's time zone."""
    zone = ZoneInfo(tz)
    start = datetime.combine(date(year, month, 1), time(0), zone)
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return start, datetime.combine(nxt, time(0), zone)


def previous_month(today: date) -> tuple[int, int]:
    first = today.replace(day=1) - timedelta(days=1)
    return first.year, first.month


def statement_number(site_id: int, user_id: int, year: int, month: int) -> str:
    """Stable and unique per site, resident and month: 2026-11-0003-000042."""
    return f"{year:04d}-{month:02d}-{site_id:04d}-{user_id:06d}"


def effective_price(tx: Transaction) -> Decimal | None:
    """Price per kWh incl. VAT actually paid: the fee for standard, the energy-weighted average for spot."""
    if tx.pricing_type != "spot":
        return Decimal(tx.energy_fee)
    if not tx.energy_wh:
        return None
    return (Decimal(tx.cost_minor or 0) * 10 / Decimal(tx.energy_wh)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


@dataclass
class LineDraft:
    kind: str
    description: str
    amount_minor: int
    vat_minor: int
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    energy_wh: int = 0
    unit_price: Decimal | None = None
    days: int = 0
    days_in_month: int = 0
    transaction_id: int | None = None
    plan_id: int | None = None


@dataclass
class StatementDraft:
    user_id: int | None
    lines: list[LineDraft] = field(default_factory=list)

    @property
    def sessions(self) -> list[LineDraft]:
        return [ln for ln in self.lines if ln.kind == "session"]

    @property
    def fees(self) -> list[LineDraft]:
        return [ln for ln in self.lines if ln.kind == "subscription"]

    @property
    def total_minor(self) -> int:
        return sum(ln.amount_minor for ln in self.lines)

    @property
    def vat_minor(self) -> int:
        return sum(ln.vat_minor for ln in self.lines)


def billable_sessions(session: Session, site: Site, start: datetime, end: datetime) -> list[Transaction]:
    """Completed sessions started in [start, end) at the site; those refused at start are never billed."""
    txs = session.scalars(
        select(Transaction).join(ChargePoint, ChargePoint.id == Transaction.charge_point_id)
        .where(ChargePoint.site_id == site.id, Transaction.status == "completed",
               Transaction.started_at >= start, Transaction.started_at < end)
        .order_by(Transaction.started_at, Transaction.id))
    return [tx for tx in txs if not tx.refused_at_start]


def session_line(tx: Transaction) -> LineDraft:
    return LineDraft("session", tx.charge_point.display_name, tx.cost_minor or 0, tx.vat_minor or 0,
                     starts_at=tx.started_at, ends_at=tx.stopped_at, energy_wh=tx.energy_wh or 0,
                     unit_price=effective_price(tx), transaction_id=tx.id)


def held_days(sub: UserSubscription, year: int, month: int, tz: str) -> tuple[int, int]:
    """(days held in the month, days in the month): the start day counts, the end day does not,
    and a subscription that was active at all during the month counts at least one day."""
    start, end = month_bounds(year, month, tz)
    zone = ZoneInfo(tz)
    first, last = start.date(), end.date()
    begins = max(sub.started_at.astimezone(zone).date(), first)
    ends = min(sub.ended_at.astimezone(zone).date(), last) if sub.ended_at else last
    return max((ends - begins).days, 1), (last - first).days


def pro_rata(fee_minor: int, days: int, days_in_month: int) -> int:
    return int((Decimal(fee_minor) * days / days_in_month).quantize(Decimal("1"), ROUND_HALF_UP))


def fee_for_month(plan: SubscriptionPlan, year: int, month: int) -> int:
    """The plan's monthly fee that applies to this month (a new price applies from its first month)."""
    next_fee = getattr(plan, "next_fee_minor", None)
    since = getattr(plan, "next_fee_from", None)
    if next_fee is not None and since is not None and date(year, month, 1) >= since:
        return next_fee
    return plan.monthly_fee_minor


def subscription_lines(session: Session, site: Site, year: int, month: int) -> list[tuple[int, LineDraft]]:
    """(user id, fee line) for every subscription to the site's plans held during the month."""
    start, end = month_bounds(year, month, site.timezone)
    subs = session.scalars(
        select(UserSubscription).join(SubscriptionPlan, SubscriptionPlan.id == UserSubscription.plan_id)
        .where(SubscriptionPlan.site_id == site.id, UserSubscription.started_at < end,
               (UserSubscription.ended_at.is_(None)) | (UserSubscription.ended_at > start))
        .order_by(UserSubscription.started_at, UserSubscription.id))
    out = []
    for sub in subs:
        fee = fee_for_month(sub.plan, year, month)
        if fee <= 0:
            continue
        days, in_month = held_days(sub, year, month, site.timezone)
        amount = pro_rata(fee, days, in_month)
        out.append((sub.user_id, LineDraft(
            "subscription", sub.plan.name, amount, vat_part(amount, site.vat_rate_bp),
            starts_at=max(sub.started_at, start), ends_at=min(sub.ended_at, end) if sub.ended_at else end,
            days=days, days_in_month=in_month, plan_id=sub.plan_id, unit_price=None)))
    return out


def drafts(session: Session, site: Site, year: int, month: int) -> dict[int | None, StatementDraft]:
    """What every resident owes for the month (key None: sessions by cards without an account)."""
    start, end = month_bounds(year, month, site.timezone)
    result: dict[int | None, StatementDraft] = {}
    for tx in billable_sessions(session, site, start, end):
        result.setdefault(tx.user_id, StatementDraft(tx.user_id)).lines.append(session_line(tx))
    for user_id, line in subscription_lines(session, site, year, month):
        result.setdefault(user_id, StatementDraft(user_id)).lines.append(line)
    return result


@dataclass(frozen=True)
class Operator:
    name: str
    org_number: str


def issue(session: Session, site: Site, year: int, month: int, operator: Operator) -> list[Statement]:
    """Issue the month's statements for the site (only those not issued yet); returns the new ones."""
    existing = set(session.scalars(select(Statement.user_id).where(
        Statement.site_id == site.id, Statement.year == year, Statement.month == month)))
    new = []
    for user_id, draft in sorted(drafts(session, site, year, month).items(), key=lambda kv: kv[0] or 0):
        if user_id is None or user_id in existing or not draft.lines:
            continue
        st = Statement(number=statement_number(site.id, user_id, year, month), site_id=site.id, user_id=user_id,
                       year=year, month=month, currency=site.currency, operator_name=operator.name,
                       operator_org_number=operator.org_number, total_minor=draft.total_minor,
                       vat_minor=draft.vat_minor)
        st.lines = [StatementLine(position=i, **vars(line)) for i, line in enumerate(
            sorted(draft.lines, key=lambda ln: (ln.kind != "subscription", ln.starts_at or datetime.min)))]
        session.add(st)
        new.append(st)
    session.flush()
    return new


def sites_to_bill(session: Session) -> list[Site]:
    return list(session.scalars(select(Site).order_by(Site.id)))


def user_statements(session: Session, user_id: int) -> list[Statement]:
    return list(session.scalars(select(Statement).where(Statement.user_id == user_id)
                                .order_by(Statement.year.desc(), Statement.month.desc(), Statement.site_id)))


def own_statement(session: Session, user: User, statement_id: int) -> Statement | None:
    st = session.get(Statement, statement_id)
    return st if st is not None and st.user_id == user.id else None


def site_statements(session: Session, site_id: int, year: int, month: int) -> list[Statement]:
    return list(session.scalars(select(Statement).where(
        Statement.site_id == site_id, Statement.year == year, Statement.month == month).order_by(Statement.number)))


# --- the board's monthly report ---------------------------------------------------------------

@dataclass
class ReportRow:
    user_id: int | None  # None: the guests' row
    email: str
    name: str
    sessions: int = 0
    energy_wh: int = 0
    cost_minor: int = 0  # charging
    fees_minor: int = 0  # subscription fees, pro rata
    vat_minor: int = 0
    guest: bool = False  # everyone who is not a member of the site, together, never named
    closed_by_support: int = 0  # sessions support closed because the charger never stopped them
    invoiced_minor: int = 0  # the part billed on statements (cards without an account get none)
    invoiced_vat_minor: int = 0

    @property
    def total_minor(self) -> int:
        return self.cost_minor + self.fees_minor


def monthly_report(session: Session, site: Site, year: int, month: int) -> list[ReportRow]:
    """Per resident: sessions, energy, charging cost, subscription fees and total, as the statements bill them.
    The board sees its own members by name; everyone else (guests, cards without an account) is one row
    of totals, last, so the report still adds up to the statements without naming strangers."""
    members = set(session.scalars(select(Membership.user_id).where(Membership.site_id == site.id)))
    all_drafts = drafts(session, site, year, month)
    tx_ids = [ln.transaction_id for d in all_drafts.values() for ln in d.sessions]
    closed = set(session.scalars(select(Transaction.id).where(
        Transaction.id.in_(tx_ids), Transaction.close_note.is_not(None)))) if tx_ids else set()
    rows: dict[int | None, ReportRow] = {}
    for user_id, draft in all_drafts.items():
        key = user_id if user_id in members else None
        row = rows.get(key)
        if row is None:
            user = session.get(User, key) if key is not None else None
            row = rows[key] = (ReportRow(key, user.email, user.name) if user is not None
                               else ReportRow(None, "", "", guest=True))
        row.sessions += len(draft.sessions)
        row.energy_wh += sum(ln.energy_wh for ln in draft.sessions)
        row.cost_minor += sum(ln.amount_minor for ln in draft.sessions)
        row.fees_minor += sum(ln.amount_minor for ln in draft.fees)
        row.vat_minor += draft.vat_minor
        row.closed_by_support += sum(1 for ln in draft.sessions if ln.transaction_id in closed)
        if user_id is not None:
            row.invoiced_minor += draft.total_minor
            row.invoiced_vat_minor += draft.vat_minor
    return sorted(rows.values(), key=lambda r: (r.guest, r.email))
