"""Payments of statements by bank transfer: the bank files staff upload (ISO 20022 camt.054), one row per
payment in them, and the reminders sent for unpaid statements.

A `Payment` row is money that moved for a statement: ``bank`` (a credit entry of a bank file), ``carried``
(an overpayment moved from one statement to the next: a negative row on the first, a positive one on the
next) or ``refund`` (an overpayment paid back: negative). What residents paid per site and month is one
query: the sum of ``amount_minor`` by ``site_id`` and the month of ``booked_on`` (carried rows cancel out).
Idempotent uploads: a file is recorded once (its SHA-256), and a bank entry once per account (the bank's
reference, AcctSvcrRef or NtryRef).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow

PAYMENT_KINDS = ("bank", "carried", "refund")
# matched: on its statement; suggested: a statement proposed by amount and name, for staff to confirm;
# unmatched: no statement found (or staff declined the suggestion).
PAYMENT_STATES = ("matched", "suggested", "unmatched")
PAID_STATES = ("unpaid", "part_paid", "paid", "overpaid")


class BankFile(Base):
    """One uploaded bank file, recorded once whoever uploads it how often."""

    __tablename__ = "bank_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(200), default="")
    message_id: Mapped[str] = mapped_column(String(64), default="")  # GrpHdr/MsgId
    account: Mapped[str] = mapped_column(String(34), default="")
    currency: Mapped[str] = mapped_column(String(3), default="NOK")
    entries: Mapped[int] = mapped_column(Integer, default=0)  # credit entries in the file
    recorded: Mapped[int] = mapped_column(Integer, default=0)  # of those, new payments (not seen before)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("account", "entry_ref", name="uq_payments_account_entry"),
        CheckConstraint("kind IN ('bank','carried','refund')", name="kind"),
        CheckConstraint("state IN ('matched','suggested','unmatched')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), default="bank")
    state: Mapped[str] = mapped_column(String(10), default="unmatched")
    bank_file_id: Mapped[int | None] = mapped_column(ForeignKey("bank_files.id", ondelete="SET NULL"),
                                                     default=None, index=True)
    # The receiving account and the bank's own reference of the entry; staff-made rows get "carried-<id>"...
    account: Mapped[str] = mapped_column(String(34), default="")
    entry_ref: Mapped[str] = mapped_column(String(80))
    booked_on: Mapped[date] = mapped_column(Date, index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="NOK")
    reference: Mapped[str] = mapped_column(String(40), default="")  # structured (KID / OCR), as given
    message: Mapped[str] = mapped_column(Text, default="")  # unstructured remittance text
    debtor_name: Mapped[str] = mapped_column(String(140), default="")
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id", ondelete="SET NULL"),
                                                     default=None, index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"), default=None, index=True)
    suggested_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id", ondelete="SET NULL"), default=None)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    statement: Mapped["Statement | None"] = relationship(foreign_keys=[statement_id])  # noqa: F821
    suggested: Mapped["Statement | None"] = relationship(foreign_keys=[suggested_id])  # noqa: F821
    bank_file: Mapped[BankFile | None] = relationship()


class StatementReminder(Base):
    """A payment reminder sent for a statement (level 1, then 2), with the fee it carried (0 by default)."""

    __tablename__ = "statement_reminders"
    __table_args__ = (
        UniqueConstraint("statement_id", "level", name="uq_statement_reminders_level"),
        CheckConstraint("level IN (1, 2)", name="level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id", ondelete="CASCADE"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    sent_on: Mapped[date] = mapped_column(Date)
    fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    outbox_id: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
