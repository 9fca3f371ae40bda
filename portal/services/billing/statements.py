"""Monthly statements per resident and site, and the board's monthly report built from the same documents.

Until a payment provider is integrated residents are invoiced. A session belongs to the month it started
in (the site's time zone), wherever it is shown: receipt, statement, report. The worker job
``worker.jobs.statements.issue_monthly_statements`` runs daily; for every month that is over it issues

- the month's regular statement per resident and site (once): every completed session of the month
  that is on no document yet, at the cost and VAT stored on the session (sessions refused at start are
  never billed), and every subscription to one of the site's plans held during the month, pro rata for
  the days held (fee x days held / days in the month, rounded half up to the øre);
- afterwards, a supplementary statement for the same month with the sessions that ended (or whose
  StopTransaction reached us) after the regular one was issued.

Every session is on exactly one document (a partial unique index on the lines); corrections are credit
notes (portal/services/billing/credit_notes.py). VAT is stated per line and a document's totals are the sums of
its lines. The board's report (``monthly_report``) adds the month's documents and what is still to be
billed, so what it calls invoiced equals the sum of the documents to the øre. Functions flush, never commit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from portal.models import (
    ChargePoint, Membership, Site, Statement, StatementLine, StatementRun, SubscriptionPlan, Transaction, User,
    UserSubscription,
)
from portal.services.billing.ledger import Operator, new_document
from portal.services.billing.pricing import vat_part

__all__ = ["Operator"]


def month_bounds(year: int, month: int, tz: str) -> tuple[datetime, datetime]:
    """The month as [start, end) in the site's time zone."""
    zone = ZoneInfo(tz)
    start = datetime.combine(date(year, month, 1), time(0), zone)
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return start, datetime.combine(nxt, time(0), zone)


def previous_month(today: date) -> tuple[int, int]:
    first = today.replace(day=1) - timedelta(days=1)
    return first.year, first.month


def next_month(year: int, month: int) -> tuple[int, int]:
    return year + month // 12, month % 12 + 1


def billing_month(tx: Transaction) -> tuple[int, int]:
    """The month whose statement bills the session: the one it started in, in the site's time zone."""
    started = tx.started_at.astimezone(ZoneInfo(tx.charge_point.site.timezone))
    return started.year, started.month


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


ON_A_DOCUMENT = exists().where(StatementLine.transaction_id == Transaction.id)


def billable_sessions(session: Session, site: Site, start: datetime, end: datetime) -> list[Transaction]:
    """Completed sessions started in [start, end) at the site and on no document yet; those refused at
    start are never billed."""
    txs = session.scalars(
        select(Transaction).join(ChargePoint, ChargePoint.id == Transaction.charge_point_id)
        .where(ChargePoint.site_id == site.id, Transaction.status == "completed",
               Transaction.started_at >= start, Transaction.started_at < end, ~ON_A_DOCUMENT)
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


def regular_statement_users(session: Session, site: Site, year: int, month: int) -> set[int]:
    """Who already has the month's regular statement (with the subscription fees) at the site."""
    return set(session.scalars(select(Statement.user_id).where(
        Statement.site_id == site.id, Statement.year == year, Statement.month == month,
        Statement.kind == "statement", Statement.user_id.is_not(None))))


def drafts(session: Session, site: Site, year: int, month: int) -> dict[int | None, StatementDraft]:
    """What is still to be billed for the month (key None: sessions by cards without an account): the
    sessions on no document, and the fees of residents without the month's regular statement."""
    start, end = month_bounds(year, month, site.timezone)
    result: dict[int | None, StatementDraft] = {}
    for tx in billable_sessions(session, site, start, end):
        result.setdefault(tx.user_id, StatementDraft(tx.user_id)).lines.append(session_line(tx))
    regular = regular_statement_users(session, site, year, month)
    for user_id, line in subscription_lines(session, site, year, month):
        if user_id not in regular:
            result.setdefault(user_id, StatementDraft(user_id)).lines.append(line)
    return result


def _line_order(line: LineDraft) -> tuple:
    return line.kind != "subscription", line.starts_at or datetime.min


def issue(session: Session, site: Site, year: int, month: int, operator: Operator) -> list[Statement]:
    """Bill the month at the site: the regular statement of every resident who has none yet, and a
    supplementary statement for sessions that ended since; returns the new documents. Marks the month run."""
    regular = regular_statement_users(session, site, year, month)
    new = []
    for user_id, draft in sorted(drafts(session, site, year, month).items(), key=lambda kv: kv[0] or 0):
        user = session.get(User, user_id) if user_id is not None else None
        if user is None or not draft.lines:
            continue  # cards without an account are not invoiced
        lines = [StatementLine(**vars(line)) for line in sorted(draft.lines, key=_line_order)]
        new.append(new_document(
            session, operator, lines, kind="supplementary" if user_id in regular else "statement",
            site_id=site.id, site_name=site.name, user_id=user.id, billed_name=user.display_name,
            billed_email=user.email, year=year, month=month, currency=site.currency))
    if session.get(StatementRun, (site.id, year, month)) is None:
        session.add(StatementRun(site_id=site.id, year=year, month=month))
    session.flush()
    return new


def months_due(session: Session, site: Site, today: date) -> list[tuple[int, int]]:
    """The months over by `today` that still have something to bill: the previous month and any month
    since the site's first run that never ran, and every such month with a finished session on no document."""
    last = previous_month(today)
    runs = {(y, m) for y, m in session.execute(select(StatementRun.year, StatementRun.month)
                                               .where(StatementRun.site_id == site.id))}
    first = min(runs | {last})
    months, cursor = set(), first
    while cursor <= last:
        if cursor not in runs:
            months.add(cursor)
        cursor = next_month(*cursor)
    start, _ = month_bounds(*first, site.timezone)
    _, end = month_bounds(*last, site.timezone)
    months |= {billing_month(tx) for tx in billable_sessions(session, site, start, end) if tx.user_id is not None}
    return sorted(months)


def sites_to_bill(session: Session) -> list[Site]:
    return list(session.scalars(select(Site).order_by(Site.id)))


def user_statements(session: Session, user_id: int) -> list[Statement]:
    """The resident's documents, newest month first; a month's credit notes next to what they correct."""
    return list(session.scalars(select(Statement).where(Statement.user_id == user_id)
                                .order_by(Statement.year.desc(), Statement.month.desc(), Statement.site_id,
                                          Statement.id)))


def document_of_session(session: Session, tx_id: int) -> Statement | None:
    """The document that bills the session (its original line, not a credit or a re-bill), if any."""
    return session.scalar(select(Statement).join(StatementLine, StatementLine.statement_id == Statement.id)
                          .where(StatementLine.transaction_id == tx_id, StatementLine.credits_line_id.is_(None),
                                 StatementLine.rebills_line_id.is_(None)))


def own_statement(session: Session, user: User, statement_id: int) -> Statement | None:
    st = session.get(Statement, statement_id)
    return st if st is not None and st.user_id == user.id else None


def credit_notes_of(session: Session, statement_id: int) -> list[Statement]:
    return list(session.scalars(select(Statement).where(Statement.corrects_id == statement_id)
                                .order_by(Statement.sequence_no)))


def site_statements(session: Session, site_id: int, year: int, month: int) -> list[Statement]:
    """Every document of the site's month: statements, supplements and credit notes, in number order."""
    return list(session.scalars(select(Statement).where(
        Statement.site_id == site_id, Statement.year == year, Statement.month == month)
        .order_by(Statement.sequence_no.is_(None), Statement.sequence_no, Statement.number)))


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


def _add(row: ReportRow, lines: list, closed: set[int]) -> None:
    """Add document lines or drafts to a report row; a credited session counts minus one."""
    for ln in lines:
        if ln.kind == "session":
            credit = getattr(ln, "credits_line_id", None) is not None
            row.sessions += -1 if credit else 1
            row.energy_wh += ln.energy_wh
            row.cost_minor += ln.amount_minor
            row.closed_by_support += (-1 if credit else 1) if ln.transaction_id in closed else 0
        else:
            row.fees_minor += ln.amount_minor
        row.vat_minor += ln.vat_minor


def monthly_report(session: Session, site: Site, year: int, month: int) -> list[ReportRow]:
    """Per resident: sessions, energy, charging cost, subscription fees and total for the month: its
    documents (statements, supplements, credit notes) plus what is still to be billed.
    The board sees its own members by name; everyone else (guests, cards without an account, deleted
    accounts) is one row of totals, last, so the report still adds up to the documents without naming strangers."""
    members = set(session.scalars(select(Membership.user_id).where(Membership.site_id == site.id)))
    documents = site_statements(session, site.id, year, month)
    pending = drafts(session, site, year, month)
    tx_ids = ([ln.transaction_id for d in documents for ln in d.lines if ln.transaction_id]
              + [ln.transaction_id for d in pending.values() for ln in d.sessions])
    closed = set(session.scalars(select(Transaction.id).where(
        Transaction.id.in_(tx_ids), Transaction.close_note.is_not(None)))) if tx_ids else set()
    rows: dict[int | None, ReportRow] = {}

    def row_for(user_id: int | None) -> ReportRow:
        key = user_id if user_id in members else None
        if key not in rows:
            user = session.get(User, key) if key is not None else None
            rows[key] = (ReportRow(key, user.email, user.name) if user is not None
                         else ReportRow(None, "", "", guest=True))
        return rows[key]

    for doc in documents:
        row = row_for(doc.user_id)
        _add(row, doc.lines, closed)
        row.invoiced_minor += doc.total_minor
        row.invoiced_vat_minor += doc.vat_minor
    for user_id, draft in pending.items():
        _add(row_for(user_id), draft.lines, closed)
    return sorted(rows.values(), key=lambda r: (r.guest, r.email))


# --- one person's bill before their account is deleted (portal/services/people/erasure.py) ------------

def months_to_settle(session: Session, user_id: int, now: datetime) -> dict[Site, list[tuple[int, int]]]:
    """Per site, the months that still hold something billable of the person: months of their completed
    sessions on no document, and the months of their subscriptions that no monthly run has billed yet
    (from the month after the site's last run, or last month for a site never run, up to this month)."""
    out: dict[Site, set[tuple[int, int]]] = {}
    txs = session.scalars(select(Transaction).where(Transaction.user_id == user_id,
                                                    Transaction.status == "completed", ~ON_A_DOCUMENT))
    for tx in txs:
        if not tx.refused_at_start:
            out.setdefault(tx.charge_point.site, set()).add(billing_month(tx))
    subs = session.scalars(select(UserSubscription).where(UserSubscription.user_id == user_id))
    for sub in subs:
        site = session.get(Site, sub.plan.site_id)
        today = now.astimezone(ZoneInfo(site.timezone)).date()
        runs = [(y, m) for y, m in session.execute(select(StatementRun.year, StatementRun.month)
                                                   .where(StatementRun.site_id == site.id))]
        cursor = next_month(*max(runs)) if runs else previous_month(today)
        started = sub.started_at.astimezone(ZoneInfo(site.timezone))
        cursor = max(cursor, (started.year, started.month))
        ended = sub.ended_at.astimezone(ZoneInfo(site.timezone)) if sub.ended_at else None
        last = min((today.year, today.month), (ended.year, ended.month)) if ended else (today.year, today.month)
        while cursor <= last:
            out.setdefault(site, set()).add(cursor)
            cursor = next_month(*cursor)
    return {site: sorted(months) for site, months in out.items()}


def issue_for_user(session: Session, site: Site, year: int, month: int, operator: Operator,
                   user: User) -> Statement | None:
    """Bill now what is still to be billed of one person for the month at the site: their statement
    (with the subscription fees, pro rata to the days held) when they have none yet for the month, else a
    supplementary statement with their sessions. Does not mark the month as run for the others."""
    draft = drafts(session, site, year, month).get(user.id)
    if draft is None or not draft.lines:
        return None
    regular = user.id in regular_statement_users(session, site, year, month)
    lines = [StatementLine(**vars(line)) for line in sorted(draft.lines, key=_line_order)]
    return new_document(
        session, operator, lines, kind="supplementary" if regular else "statement", site_id=site.id,
        site_name=site.name, user_id=user.id, billed_name=user.display_name, billed_email=user.email,
        year=year, month=month, currency=site.currency)
