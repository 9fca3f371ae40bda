"""Recording a bank file's payments, once: staff upload a camt.054 file; every credit in it becomes a payment,
matched to its statement by reference, suggested by amount and name, or left unmatched for staff.

Idempotent: a file already recorded (its SHA-256) records nothing, and neither does an entry already
recorded from another file (unique: account + the bank's entry reference). Two uploads of the same file
at the same moment: the second one's insert of the file row fails on the unique hash (PostgreSQL waits for the
first transaction, SQLite's write lock serialises them), and `upload` reports the file as already recorded.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from portal.models import BankFile, Payment, Statement, User
from portal.services.payments import camt054, matching, states
from portal.services.payments.terms import PaymentTerms
from portal.services.sites import audit


class PaymentError(ValueError):
    CODES = ("not_suggested", "already_matched", "no_statement", "currency")


@dataclass(frozen=True)
class Upload:
    bank_file: BankFile | None
    already: bool  # the same file was recorded before: nothing new
    recorded: int  # new payments
    matched: int
    suggested: int


def record_notice(session: Session, notice: camt054.BankNotice, digest: str, filename: str, actor: User | None,
            terms: PaymentTerms) -> Upload:
    bank_file = BankFile(sha256=digest, filename=filename[:200], message_id=notice.message_id,
                         account=notice.account[:34], currency=notice.currency or "NOK", entries=notice.entries,
                         uploaded_by_id=actor.id if actor else None)
    session.add(bank_file)
    session.flush()  # the unique hash: a second upload of the file stops here
    counts = {"matched": 0, "suggested": 0, "unmatched": 0}
    for credit in notice.credits:
        seen = session.scalar(select(Payment.id).where(Payment.account == credit.account,
                                                       Payment.entry_ref == credit.entry_ref))
        if seen is not None:
            continue
        found = matching.match(session, credit, terms)
        target = found.statement
        session.add(Payment(kind="bank", state=found.state, bank_file_id=bank_file.id, account=credit.account,
                            entry_ref=credit.entry_ref, booked_on=credit.booked_on, amount_minor=credit.amount_minor,
                            currency=credit.currency, reference=credit.reference, message=credit.message,
                            debtor_name=credit.debtor_name, statement_id=target.id if target else None,
                            site_id=target.site_id if target else None,
                            suggested_id=found.suggested.id if found.suggested else None))
        session.flush()
        if target is not None:
            states.refresh(session, target)
        counts[found.state] += 1
    bank_file.recorded = sum(counts.values())
    audit.record(session, actor, None, "bank_file", bank_file.id, "upload",
                 after={"sha256": digest, "entries": notice.entries, **counts}, area="staff")
    session.flush()
    return Upload(bank_file, False, bank_file.recorded, counts["matched"], counts["suggested"])


def _already(session: Session, digest: str) -> Upload | None:
    found = session.scalar(select(BankFile).where(BankFile.sha256 == digest))
    return Upload(found, True, 0, 0, 0) if found is not None else None


def upload(session: Session, data: bytes, filename: str, actor: User, terms: PaymentTerms,
           max_bytes: int) -> Upload:
    """Parse (camt054.CamtError: nothing recorded) and record the file, committing; see the module text."""
    notice = camt054.parse(data, max_bytes)
    digest = hashlib.sha256(data).hexdigest()
    done = _already(session, digest)
    if done is not None:
        return done
    try:
        result = record_notice(session, notice, digest, filename, actor, terms)
        session.commit()
        return result
    except (IntegrityError, OperationalError):
        session.rollback()  # another upload of the same file (or of its entries) got there first
        done = _already(session, digest)
        if done is not None:
            return done
        result = record_notice(session, notice, digest, filename, actor, terms)  # entries of another file: skipped
        session.commit()
        return result


def assign(session: Session, actor: User, payment: Payment, statement: Statement) -> None:
    """Staff put a suggested or unmatched payment on a statement (confirming a suggestion, or by its number)."""
    if payment.state == "matched":
        raise PaymentError("already_matched")
    if statement.paid_state is None:
        raise PaymentError("no_statement")
    if statement.currency != payment.currency:
        raise PaymentError("currency")
    payment.state, payment.statement_id, payment.site_id = "matched", statement.id, statement.site_id
    payment.suggested_id, payment.handled_by_id = None, actor.id
    session.flush()
    states.refresh(session, statement)
    audit.record(session, actor, statement.site_id, "payment", payment.id, "assign",
                 after={"statement": statement.number, "amount_minor": payment.amount_minor}, area="staff")


def decline(session: Session, actor: User, payment: Payment) -> None:
    """Staff say the suggested statement is not what the payment pays: it stays unmatched."""
    if payment.state != "suggested":
        raise PaymentError("not_suggested")
    payment.state, payment.suggested_id, payment.handled_by_id = "unmatched", None, actor.id
    audit.record(session, actor, None, "payment", payment.id, "decline", area="staff")
    session.flush()
