"""The cooperative's account per site and month (issue 24 part 4), on the payout statement the board prints.

- energy charged: kWh of the month's sessions, as the board's monthly report counts them (its documents
  plus what is still to be billed), so the two pages agree;
- billed: the month's documents (statements and supplements minus credit notes), incl. VAT;
- paid: what residents paid, counted on the day the bank booked it (payments booked in the month, whatever
  month's statement they settle; carried overpayments cancel out, refunds count negative);
- the operator's fee: a share (basis points) of what was paid, rounded half up to the øre, plus a fixed
  amount per month (staff set both per site, ``SitePayoutTerms``);
- the payout: paid minus the fee. The cooperative is paid what residents actually paid, never what was only
  billed, so unpaid statements are the operator's to collect. A negative payout (a fee above what was paid)
  is what the cooperative owes for the month.
Compared with the building's electricity bill for charging (``ElectricityBill``, amounts incl. VAT as on the
bill): the difference between what was paid and what the power cost, and the price per kWh incl. VAT (as
residents' prices are shown) that would have covered the power: its cost divided by the kWh charged.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import ElectricityBill, Payment, Site, SitePayoutTerms
from portal.services.billing.statements import monthly_report, site_statements

BP = 10_000


def operator_fee(paid_minor: int, share_bp: int, fixed_minor: int) -> int:
    """The fee in minor units: share of what was paid (half up to the øre; none of a negative month) + fixed."""
    share = (Decimal(max(paid_minor, 0)) * share_bp / BP).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(share) + fixed_minor


def break_even_price(cost_minor: int, energy_wh: int) -> Decimal | None:
    """Price per kWh in currency units (two decimals, half up) that covers `cost_minor` over the kWh charged."""
    if energy_wh <= 0:
        return None
    return (Decimal(cost_minor) * 1000 / energy_wh / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def month_dates(year: int, month: int) -> tuple[date, date]:
    """[first day, first day of the next month)."""
    return date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)


@dataclass(frozen=True)
class SiteAccount:
    site: Site
    year: int
    month: int
    energy_wh: int
    billed_minor: int
    billed_vat_minor: int
    paid_minor: int
    fee_share_bp: int
    fee_fixed_minor: int
    bill: ElectricityBill | None

    @property
    def fee_minor(self) -> int:
        return operator_fee(self.paid_minor, self.fee_share_bp, self.fee_fixed_minor)

    @property
    def fee_share_minor(self) -> int:
        return self.fee_minor - self.fee_fixed_minor

    @property
    def payout_minor(self) -> int:
        return self.paid_minor - self.fee_minor

    @property
    def unpaid_minor(self) -> int:
        return self.billed_minor - self.paid_minor

    @property
    def difference_minor(self) -> int | None:
        """What residents paid minus what the power cost (None without the month's electricity bill)."""
        return None if self.bill is None else self.paid_minor - self.bill.cost_minor

    @property
    def break_even(self) -> Decimal | None:
        return None if self.bill is None else break_even_price(self.bill.cost_minor, self.energy_wh)


def terms_for(session: Session, site_id: int) -> SitePayoutTerms:
    terms = session.get(SitePayoutTerms, site_id)
    return terms if terms is not None else SitePayoutTerms(site_id=site_id, fee_share_bp=0, fee_fixed_minor=0)


def set_terms(session: Session, site_id: int, share_bp: int, fixed_minor: int) -> SitePayoutTerms:
    """Staff set the operator's fee at a site (flushes)."""
    terms = session.get(SitePayoutTerms, site_id)
    if terms is None:
        terms = SitePayoutTerms(site_id=site_id)
        session.add(terms)
    terms.fee_share_bp, terms.fee_fixed_minor = share_bp, fixed_minor
    session.flush()
    return terms


def paid_in_month(session: Session, site_id: int, year: int, month: int) -> int:
    first, nxt = month_dates(year, month)
    return int(session.scalar(select(func.coalesce(func.sum(Payment.amount_minor), 0)).where(
        Payment.site_id == site_id, Payment.booked_on >= first, Payment.booked_on < nxt)) or 0)


def site_account(session: Session, site: Site, year: int, month: int) -> SiteAccount:
    documents = site_statements(session, site.id, year, month)
    terms = terms_for(session, site.id)
    bill = session.scalar(select(ElectricityBill).where(
        ElectricityBill.site_id == site.id, ElectricityBill.year == year, ElectricityBill.month == month))
    return SiteAccount(
        site=site, year=year, month=month,
        energy_wh=sum(row.energy_wh for row in monthly_report(session, site, year, month)),
        billed_minor=sum(d.total_minor for d in documents), billed_vat_minor=sum(d.vat_minor for d in documents),
        paid_minor=paid_in_month(session, site.id, year, month),
        fee_share_bp=terms.fee_share_bp, fee_fixed_minor=terms.fee_fixed_minor, bill=bill)
