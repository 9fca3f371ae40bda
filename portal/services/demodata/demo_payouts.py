"""Demo data for the cooperative's account: the operator's fee at Solbakken (5 % of what was paid plus
250 kr a month) and the electricity bill the board entered for the month the demo payments arrived in.
Safe to load twice (the bill is entered or replaced, the fee set again)."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Payment, Site, User
from portal.services.billing import electricity, payouts


def seed_payouts(session: Session) -> None:
    site = session.scalar(select(Site).where(Site.slug == "solbakken"))
    booked = session.scalar(select(Payment.booked_on).where(Payment.site_id == (site.id if site else None))
                            .order_by(Payment.booked_on))
    if site is None or booked is None:
        return
    payouts.set_terms(session, site.id, 500, 25_000)
    board = session.scalar(select(User.id).where(User.email == "board@demo.test"))
    electricity.save(session, site.id, electricity.BillFigures(
        booked.year, booked.month, Decimal("142.5"), 14_820, 6_050, 3_500), board)
