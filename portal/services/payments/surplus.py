"""Overpayments: staff choose to carry the credit to the resident's next statement at the site, or to refund
it. Both are payment rows, so the money adds up: a carried credit is a negative row on the overpaid statement
and the same positive amount on the next one; a refund is a negative row (staff pay it back from the bank).
A credit to carry with no later statement yet waits (``surplus_action = 'carry'``) for the next one issued."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Payment, Statement, User
from portal.services.payments.states import outstanding, refresh
from portal.services.sites import audit

ACTIONS = ("carry", "refund")


class SurplusError(ValueError):
    CODES = ("not_overpaid", "bad_action")


def _row(st: Statement, kind: str, amount: int, ref: str, actor: User | None) -> Payment:
    return Payment(kind=kind, state="matched", account="", entry_ref=ref, amount_minor=amount, currency=st.currency,
                   booked_on=datetime.now(timezone.utc).date(), statement_id=st.id, site_id=st.site_id,
                   handled_by_id=actor.id if actor else None)


def next_statement(session: Session, st: Statement) -> Statement | None:
    """The resident's oldest later statement at the site that still has something to pay."""
    return session.scalar(select(Statement).where(
        Statement.user_id == st.user_id, Statement.site_id == st.site_id, Statement.id > st.id,
        Statement.paid_state.in_(("unpaid", "part_paid"))).order_by(Statement.id).limit(1))


def _carry(session: Session, source: Statement, target: Statement, actor: User | None) -> None:
    amount = min(-outstanding(session, source), max(outstanding(session, target), 0))
    if amount <= 0:
        return
    session.add(_row(source, "carried", -amount, f"carried-{source.id}-{target.id}", actor))
    session.add(_row(target, "carried", amount, f"carried-from-{source.id}-{target.id}", actor))
    session.flush()
    refresh(session, source)
    refresh(session, target)


def settle(session: Session, actor: User, st: Statement, action: str) -> None:
    """Staff's choice for an overpaid statement: carry the surplus forward or refund it; audited."""
    if action not in ACTIONS:
        raise SurplusError("bad_action")
    if st.paid_state != "overpaid" or st.surplus_action is not None:
        raise SurplusError("not_overpaid")
    surplus = -outstanding(session, st)
    st.surplus_action = action
    if action == "refund":
        session.add(_row(st, "refund", -surplus, f"refund-{st.id}", actor))
        session.flush()
        refresh(session, st)
    else:
        target = next_statement(session, st)
        if target is not None:
            _carry(session, st, target, actor)
    audit.record(session, actor, st.site_id, "statement", st.id, f"surplus_{action}",
                 before={"paid_minor": st.paid_minor}, after={"surplus_minor": surplus}, area="staff")


def apply_waiting_credit(session: Session, doc: Statement) -> None:
    """Move credit waiting on the resident's overpaid statements at the site onto the new document."""
    waiting = session.scalars(select(Statement).where(
        Statement.user_id == doc.user_id, Statement.site_id == doc.site_id, Statement.id != doc.id,
        Statement.surplus_action == "carry", Statement.paid_state == "overpaid").order_by(Statement.id))
    for source in list(waiting):
        _carry(session, source, doc, None)
