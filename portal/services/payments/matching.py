"""Which statement a payment from the bank pays.

1. By reference: the structured reference (or a number in the free text) whose check digit is right and that
   is exactly a statement's payment reference, in the payment's currency. Only this matches by itself.
2. Otherwise a suggestion for staff to confirm: the one statement still to be paid whose outstanding amount
   is the payment's amount and whose resident's name agrees with the payer's. A reference with a wrong check
   digit is never matched automatically: at most it leads to a suggestion.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Statement
from portal.services.payments import references
from portal.services.payments.camt054 import Credit
from portal.services.payments.states import outstanding
from portal.services.payments.terms import PaymentTerms
from portal.textnorm import fold

OPEN_STATES = ("unpaid", "part_paid")


@dataclass(frozen=True)
class Match:
    state: str  # matched | suggested | unmatched
    statement: Statement | None = None
    suggested: Statement | None = None


def candidate_references(credit: Credit) -> list[str]:
    """The structured reference first, then digit runs of the free text (payers type the KID there too)."""
    found = [references.clean(credit.reference)] if credit.reference else []
    found += re.findall(r"\d{6,25}", credit.message.replace(" ", ""))
    return [ref for ref in found if ref]


def _words(name: str) -> set[str]:
    return {w for w in fold(name).split() if len(w) > 1}


def names_agree(billed: str, payer: str) -> bool:
    """At least two words in common, or all of the shorter name (payers write 'Hansen Kari' or 'K. Hansen')."""
    a, b = _words(billed), _words(payer)
    common = a & b
    return bool(common) and (len(common) >= 2 or common == min(a, b, key=len))


def by_reference(session: Session, credit: Credit, terms: PaymentTerms) -> Statement | None:
    for ref in candidate_references(credit):
        if not references.is_valid(ref, credit.currency, **terms.reference_options()):
            continue
        st = session.scalar(select(Statement).where(Statement.payment_reference == ref))
        if st is not None and st.currency == credit.currency:
            return st
    return None


def suggestion(session: Session, credit: Credit) -> Statement | None:
    """The one open statement the amount and the name point to, or None (none, or more than one)."""
    if not credit.debtor_name:
        return None
    open_ = session.scalars(select(Statement).where(Statement.paid_state.in_(OPEN_STATES),
                                                    Statement.currency == credit.currency).order_by(Statement.id))
    hits = [st for st in open_ if names_agree(st.billed_name, credit.debtor_name)  # no query: first
            and outstanding(session, st) == credit.amount_minor]
    return hits[0] if len(hits) == 1 else None


def match(session: Session, credit: Credit, terms: PaymentTerms) -> Match:
    st = by_reference(session, credit, terms)
    if st is not None:
        return Match("matched", statement=st)
    hint = suggestion(session, credit)
    return Match("suggested", suggested=hint) if hint is not None else Match("unmatched")
