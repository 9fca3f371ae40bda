"""The accounting export (issue 24 part 5): one month's postings for the bookkeeper, as CSV.

One voucher per document, each balancing to zero:
- a statement, supplementary statement or credit note of the month (its period, year and month), dated the
  day it was issued: receivable (debit, the total) against sales net of VAT and output VAT, one pair of
  lines per VAT rate (a credit note has the opposite signs);
- a payment booked in the month that is on a statement (bank or refund): bank against receivable
  (carried overpayments move money between two statements on the same receivable account: no posting;
  payments not yet put on a statement are exported once support has matched them, in their booking month);
- a site's payout for the month, dated its last day: what residents paid moves out of charging sales to
  the liability to the cooperative, less the operator's fee (portal/services/billing/payouts.py).
Amounts are signed: debit positive, credit negative, in currency units with two decimals.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import settings
from portal.models import Payment, Site, Statement
from portal.services.billing.csv_export import csv_text
from portal.services.billing.payouts import month_dates, site_account

HEADER = ("voucher", "date", "kind", "document", "site", "account", "vat_rate", "text", "amount", "currency")


@dataclass(frozen=True)
class Posting:
    voucher: str
    on: date
    kind: str  # statement | supplementary | credit_note | payment | payout
    document: str
    site: str
    account: str
    vat_rate: int | None  # percent, on sales and VAT lines
    text: str
    amount_minor: int  # debit positive, credit negative
    currency: str


def accounts() -> dict[str, str]:
    return {name: str(settings.get(f"account_{name}")) for name in (
        "receivable", "sales_charging", "vat_out", "bank", "payout_liability", "operator_fee")}


def vat_rate(amount_minor: int, vat_minor: int) -> int:
    """A line's VAT rate in whole percent, from its amount incl. VAT and its VAT."""
    net = amount_minor - vat_minor
    if net == 0 or vat_minor == 0:
        return 0
    return int((Decimal(vat_minor) * 100 / net).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def document_postings(doc: Statement, acc: dict[str, str]) -> list[Posting]:
    by_rate: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for line in doc.lines:
        rate = vat_rate(line.amount_minor, line.vat_minor)
        by_rate[rate][0] += line.amount_minor
        by_rate[rate][1] += line.vat_minor
    total = sum(amount for amount, _vat in by_rate.values())
    on = doc.created_at.date()

    def post(account: str, rate: int | None, text: str, amount: int) -> Posting:
        return Posting(doc.number, on, doc.kind, doc.number, doc.site_name, account, rate, text, amount, doc.currency)

    out = [post(acc["receivable"], None, doc.billed_name, total)]
    for rate in sorted(by_rate):
        amount, vat = by_rate[rate]
        out.append(post(acc["sales_charging"], rate, f"{doc.site_name} {doc.year:04d}-{doc.month:02d}", -(amount - vat)))
        if vat:
            out.append(post(acc["vat_out"], rate, f"{doc.site_name} {doc.year:04d}-{doc.month:02d}", -vat))
    return out


def payment_postings(payment: Payment, acc: dict[str, str]) -> list[Posting]:
    st = payment.statement
    voucher = f"P-{payment.id}"
    site = st.site_name if st is not None else ""
    number = st.number if st is not None else ""
    kind = "payment" if payment.kind == "bank" else "refund"
    return [Posting(voucher, payment.booked_on, kind, number, site, acc["bank"], None, payment.debtor_name,
                    payment.amount_minor, payment.currency),
            Posting(voucher, payment.booked_on, kind, number, site, acc["receivable"], None, payment.debtor_name,
                    -payment.amount_minor, payment.currency)]


def payout_postings(session: Session, site: Site, year: int, month: int, acc: dict[str, str]) -> list[Posting]:
    account = site_account(session, site, year, month)
    if account.paid_minor == 0 and account.fee_minor == 0:
        return []
    voucher = f"U-{year:04d}{month:02d}-{site.id}"
    on = month_dates(year, month)[1] - timedelta(days=1)
    text = f"{site.name} {year:04d}-{month:02d}"
    return [Posting(voucher, on, "payout", voucher, site.name, acc["sales_charging"], None, text,
                    account.paid_minor, site.currency),
            Posting(voucher, on, "payout", voucher, site.name, acc["operator_fee"], None, text,
                    -account.fee_minor, site.currency),
            Posting(voucher, on, "payout", voucher, site.name, acc["payout_liability"], None, text,
                    -account.payout_minor, site.currency)]


def postings(session: Session, year: int, month: int, operator_org_number: str) -> list[Posting]:
    """Every posting of the month for one operator, voucher by voucher."""
    acc = accounts()
    first, nxt = month_dates(year, month)
    out: list[Posting] = []
    docs = session.scalars(select(Statement).where(
        Statement.year == year, Statement.month == month, Statement.operator_org_number == operator_org_number)
        .order_by(Statement.sequence_no.is_(None), Statement.sequence_no, Statement.number))
    for doc in docs:
        out.extend(document_postings(doc, acc))
    pays = session.scalars(select(Payment).join(Payment.statement).where(
        Payment.kind.in_(("bank", "refund")), Payment.booked_on >= first, Payment.booked_on < nxt,
        Statement.operator_org_number == operator_org_number).order_by(Payment.booked_on, Payment.id))
    for payment in pays:
        out.extend(payment_postings(payment, acc))
    for site in session.scalars(select(Site).order_by(Site.id)):
        out.extend(payout_postings(session, site, year, month, acc))
    return out


def amount_text(minor: int) -> Decimal:
    return (Decimal(minor) / 100).quantize(Decimal("0.01"))


def postings_csv(rows: list[Posting]) -> str:
    return csv_text(HEADER, ([p.voucher, p.on.isoformat(), p.kind, p.document, p.site, p.account,
                              "" if p.vat_rate is None else p.vat_rate, p.text, amount_text(p.amount_minor),
                              p.currency] for p in rows))
