"""Demo data for payments: the oldest demo month's statements paid (one in full, one in part) through the
bank file service, as a camt.054 file would record them, and the next month's left unpaid and overdue.
Due dates are set as if each statement had been issued on the 1st after its month. Safe to load twice:
nothing is added when the demo bank file exists.
"""
from __future__ import annotations

import hashlib
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import BankFile, Statement
from portal.services.payments import bank_files, camt054, states, terms as payment_terms

DEMO_MESSAGE_ID = "DEMO-CAMT054-1"


def _first_after(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1)


def seed_payments(session: Session) -> None:
    """Paid, part-paid and overdue statements (flush only)."""
    if session.scalar(select(BankFile.id).where(BankFile.message_id == DEMO_MESSAGE_ID)):
        return
    terms = payment_terms.load()
    payable = list(session.scalars(select(Statement).where(Statement.paid_state.is_not(None))
                                   .order_by(Statement.year, Statement.month, Statement.id)))
    if not payable:
        return
    for st in payable:
        st.due_on = terms.due_on(_first_after(st.year, st.month))
    months = sorted({(st.year, st.month) for st in payable})
    oldest = [st for st in payable if (st.year, st.month) == months[0]]
    notice = camt054.BankNotice(message_id=DEMO_MESSAGE_ID, account=terms.bank_account, currency="NOK")
    for n, st in enumerate(oldest[:2]):
        amount = st.total_minor if n == 0 else st.total_minor // 2  # the second one pays half
        notice.credits.append(camt054.Credit(
            terms.bank_account, f"DEMO-ENTRY-{st.id}", st.due_on - timedelta(days=2), amount, st.currency,
            st.payment_reference or "", "", st.billed_name))
        notice.entries += 1
    bank_files.record_notice(session, notice, hashlib.sha256(DEMO_MESSAGE_ID.encode()).hexdigest(),
                             "demo-camt054.xml", None, terms)
    for st in payable:
        states.refresh(session, st)
