"""Corrections by credit note: an issued statement is never edited.

A credit note is a new document (kind ``credit_note``) with its own number from the operator's sequence.
It refers to the statement it corrects and has one negative line per credited line, each naming that
line (a line is credited at most once: a unique column). Optionally the credited sessions are billed
again at the session's figures as they stand now (after support corrected them) on a supplementary
statement of the same month; each re-billed line names the line it replaces. Staff only, audited.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Statement, StatementLine, Transaction, User
from portal.services.sites import audit
from portal.services.billing.ledger import Operator, new_document
from portal.services.billing.statements import effective_price
from portal.services.people import plain_reasons

COPIED = ("kind", "transaction_id", "plan_id", "description", "starts_at", "ends_at", "unit_price", "days",
          "days_in_month")


class CreditNoteError(ValueError):
    """Why a credit note cannot be issued: a code (CODES) for the page or the command to explain."""

    CODES = ("not_a_statement", "no_reason", "no_resident_reason", "nothing_to_credit")


@dataclass(frozen=True)
class Correction:
    credit_note: Statement
    rebilled: Statement | None


def credited_line_ids(session: Session, statement: Statement) -> set[int]:
    """Lines of the statement that a credit note already reverses."""
    ids = [ln.id for ln in statement.lines]
    return set(session.scalars(select(StatementLine.credits_line_id)
                               .where(StatementLine.credits_line_id.in_(ids)))) if ids else set()


def _negated(line: StatementLine) -> StatementLine:
    return StatementLine(credits_line_id=line.id, amount_minor=-line.amount_minor, vat_minor=-line.vat_minor,
                         energy_wh=-line.energy_wh, **{k: getattr(line, k) for k in COPIED})


def _rebilled(session: Session, line: StatementLine) -> StatementLine | None:
    """The credited session billed again at its current figures (subscription fees are not re-billed)."""
    tx = session.get(Transaction, line.transaction_id) if line.transaction_id else None
    if line.kind != "session" or tx is None:
        return None
    return StatementLine(kind="session", transaction_id=tx.id, rebills_line_id=line.id,
                         description=line.description, starts_at=tx.started_at, ends_at=tx.stopped_at,
                         energy_wh=tx.energy_wh or 0, unit_price=effective_price(tx), amount_minor=tx.cost_minor or 0,
                         vat_minor=tx.vat_minor or 0)


def _header(st: Statement, kind: str) -> dict:
    return dict(kind=kind, site_id=st.site_id, site_name=st.site_name, user_id=st.user_id, billed_name=st.billed_name,
                billed_email=st.billed_email, year=st.year, month=st.month, currency=st.currency)


def credit(session: Session, actor: User, statement: Statement, reason: str, operator: Operator,
           line_ids: list[int] | None = None, rebill: bool = False, *, resident_reason: str) -> Correction:
    """Credit the whole statement (or the chosen lines not credited yet); flushes. `reason` is the staff's own
    (kept on the document and in the audit log, never shown to the resident); `resident_reason` is a code of
    plain_reasons.CREDIT_NOTE, what the resident reads on the credit note and in its e-mail."""
    reason = (reason or "").strip()
    if statement.kind == "credit_note":
        raise CreditNoteError("not_a_statement")
    if not reason:
        raise CreditNoteError("no_reason")
    if not plain_reasons.valid("credit_note", resident_reason):
        raise CreditNoteError("no_resident_reason")
    done = credited_line_ids(session, statement)
    chosen = [ln for ln in statement.lines if (not line_ids or ln.id in line_ids) and ln.id not in done]
    if not chosen:
        raise CreditNoteError("nothing_to_credit")
    note = new_document(session, operator, [_negated(ln) for ln in chosen], corrects_id=statement.id, reason=reason,
                        resident_reason=resident_reason, **_header(statement, "credit_note"))
    again = [line for line in (_rebilled(session, ln) for ln in chosen) if line is not None] if rebill else []
    rebilled = (new_document(session, operator, again, **_header(statement, "supplementary")) if again else None)
    audit.record(session, actor, statement.site_id, "statement", statement.id, "credit_note",
                 before={"number": statement.number, "lines": [ln.id for ln in chosen]},
                 after={"credit_note": note.number, "total_minor": note.total_minor,
                        "resident_reason": resident_reason, "rebilled": rebilled.number if rebilled else None},
                 area="staff", reason=reason)
    return Correction(note, rebilled)
