"""Payable statements and their paid state.

When a payable document (a statement or supplementary statement with something to pay) is issued it gets
its payment reference, due date and the account to pay to (`make_payable`); these never change afterwards.
Its paid state follows from its payments: unpaid, part_paid, paid or overpaid against what is due (its
total, less the credit notes that correct it, plus any reminder fee). `refresh` works it out again; every
change of payments, credit notes or reminders calls it. Functions flush, never commit.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import Payment, Statement, StatementReminder
from portal.services.payments import references, terms as payment_terms

PAYABLE_KINDS = ("statement", "supplementary")


def make_payable(session: Session, doc: Statement, terms: payment_terms.PaymentTerms | None = None,
                 today: date | None = None) -> None:
    """Give a newly issued document its reference, due date and account (nothing for credit notes or nothing
    to pay)."""
    if doc.kind not in PAYABLE_KINDS or doc.total_minor <= 0 or doc.payment_reference:
        return
    terms = terms or payment_terms.load()
    issued = today or datetime.now(timezone.utc).date()
    doc.payment_reference = references.statement_reference(doc.sequence_no or doc.id, doc.sequence_no is None,
                                                           doc.currency, **terms.reference_options())
    doc.due_on = terms.due_on(issued)
    doc.pay_to_account = terms.account_for(doc.currency)
    doc.paid_state, doc.paid_minor = "unpaid", 0


def amount_due(session: Session, st: Statement) -> int:
    """The total, less the credit notes correcting it, plus the reminder fees charged."""
    credited = session.scalar(select(func.coalesce(func.sum(Statement.total_minor), 0))
                              .where(Statement.corrects_id == st.id)) or 0
    fees = session.scalar(select(func.coalesce(func.sum(StatementReminder.fee_minor), 0))
                          .where(StatementReminder.statement_id == st.id)) or 0
    return st.total_minor + int(credited) + int(fees)


def paid_state(paid: int, due: int) -> str:
    if due <= 0:
        return "overpaid" if paid > 0 else "paid"
    if paid <= 0:
        return "unpaid"
    if paid < due:
        return "part_paid"
    return "paid" if paid == due else "overpaid"


def refresh(session: Session, st: Statement) -> str | None:
    """Work the paid state out again from the statement's matched payments; returns it."""
    if st.paid_state is None:
        return None
    session.flush()
    paid = session.scalar(select(func.coalesce(func.sum(Payment.amount_minor), 0)).where(
        Payment.statement_id == st.id, Payment.state == "matched")) or 0
    st.paid_minor = int(paid)
    st.paid_state = paid_state(st.paid_minor, amount_due(session, st))
    session.flush()
    return st.paid_state


def outstanding(session: Session, st: Statement) -> int:
    """What is left to pay (negative: paid too much)."""
    return amount_due(session, st) - st.paid_minor


def on_new_document(session: Session, doc: Statement, terms: payment_terms.PaymentTerms | None = None) -> None:
    """A document was issued: make it payable, or (a credit note) refresh what it corrects; then move any
    credit an earlier statement's overpayment left for the next statement onto it."""
    if doc.kind == "credit_note":
        corrected = session.get(Statement, doc.corrects_id)
        if corrected is not None:
            refresh(session, corrected)
        return
    make_payable(session, doc, terms)
    if doc.paid_state is not None:
        from portal.services.payments.surplus import apply_waiting_credit

        apply_waiting_credit(session, doc)


def oldest_unpaid_due(session: Session, user_id: int, site_id: int, today: date) -> date | None:
    """The oldest due date of the user's statements at the site still to be paid, leaving out those with a
    promise to pay running (the start screen asks the same inside its own query, start_facts)."""
    return session.scalar(select(func.min(Statement.due_on)).where(
        Statement.user_id == user_id, Statement.site_id == site_id, Statement.paid_state.in_(("unpaid", "part_paid")),
        (Statement.promise_until.is_(None)) | (Statement.promise_until < today)))
