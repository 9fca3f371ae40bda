"""The billing ledger: statements, supplementary statements and credit notes, line by line.

A document is never edited once issued: a correction is a credit note (negative lines, each naming
the line it credits) and, when wanted, a new statement. Documents outlive the user and the site they
were issued to (SET NULL, with a snapshot of who and where was billed). Numbers come from one running
sequence per operator (``DocumentSequence``), allocated inside the issuing transaction."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow

LINE_KINDS = ("session", "subscription")
# statement: the month's regular statement (with the subscription fees), at most one per site, user and
# month; supplementary: sessions of that month that ended (or reached us) after it; credit_note: corrects one.
DOCUMENT_KINDS = ("statement", "supplementary", "credit_note")
REGULAR = "kind = 'statement'"
BILLED_ONCE = "transaction_id IS NOT NULL AND credits_line_id IS NULL AND rebills_line_id IS NULL"


class DocumentSequence(Base):
    """The last number given to a statement or credit note of one operator (by org. number): no gaps."""

    __tablename__ = "document_sequences"

    operator: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger, default=0)


class StatementRun(Base):
    """A month whose regular statements were issued at a site: later, its late sessions go on supplements."""

    __tablename__ = "statement_runs"
    __table_args__ = (CheckConstraint("month BETWEEN 1 AND 12", name="month"),)

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Statement(Base):
    """One document (statement, supplementary statement or credit note) for one resident, site and month;
    totals are the sum of its lines."""

    __tablename__ = "statements"
    __table_args__ = (
        Index("uq_statements_regular", "site_id", "user_id", "year", "month", unique=True,
              sqlite_where=text(REGULAR), postgresql_where=text(REGULAR)),
        UniqueConstraint("operator_org_number", "sequence_no", name="uq_statements_operator_sequence"),
        CheckConstraint("month BETWEEN 1 AND 12", name="month"),
        CheckConstraint("kind IN ('statement','supplementary','credit_note')", name="kind"),
        CheckConstraint("(kind = 'credit_note') = (corrects_id IS NOT NULL)", name="credit_note_corrects"),
        CheckConstraint("paid_state IN ('unpaid','part_paid','paid','overpaid')", name="paid_state"),
        Index("ix_statements_user_site_paid", "user_id", "site_id", "paid_state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="statement")
    # Position in the operator's running sequence; None for statements numbered before it (YYYY-MM-SITE-USER).
    sequence_no: Mapped[int | None] = mapped_column(BigInteger, default=None)
    corrects_id: Mapped[int | None] = mapped_column(
        ForeignKey("statements.id"), default=None, index=True)
    reason: Mapped[str | None] = mapped_column(Text, default=None)  # a credit note's reason: staff only
    # What the resident reads about the correction: a code of portal.services.people.plain_reasons.CREDIT_NOTE.
    resident_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    # Kept when the site or the user is removed; the snapshot below says who and where was billed.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    site_name: Mapped[str] = mapped_column(String(160), default="")
    billed_name: Mapped[str] = mapped_column(String(160), default="")  # a pseudonym once the account is deleted
    billed_email: Mapped[str] = mapped_column(String(254), default="")
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="NOK")
    # Who issues it, as it stood when the statement was made.
    operator_name: Mapped[str] = mapped_column(String(160), default="")
    operator_org_number: Mapped[str] = mapped_column(String(20), default="")
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    vat_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Payment (portal/services/payments): set when a payable document is issued, never changed afterwards...
    payment_reference: Mapped[str | None] = mapped_column(String(25), default=None, unique=True)
    due_on: Mapped[date | None] = mapped_column(Date, default=None)
    pay_to_account: Mapped[str] = mapped_column(String(34), default="")
    # ...and what follows from its payments (None: nothing to pay, e.g. a credit note).
    paid_state: Mapped[str | None] = mapped_column(String(10), default=None)
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    surplus_action: Mapped[str | None] = mapped_column(String(8), default=None)  # overpaid: carry | refund
    promise_until: Mapped[date | None] = mapped_column(Date, default=None)  # a promise to pay, noted by support
    promise_note: Mapped[str] = mapped_column(Text, default="")

    site: Mapped["Site | None"] = relationship()  # noqa: F821
    user: Mapped["User | None"] = relationship()  # noqa: F821
    corrects: Mapped["Statement | None"] = relationship(remote_side=[id])
    lines: Mapped[list["StatementLine"]] = relationship(
        back_populates="statement", cascade="all, delete-orphan", order_by="StatementLine.position")

    @property
    def is_credit_note(self) -> bool:
        return self.kind == "credit_note"


class StatementLine(Base):
    """A charging session or a (pro rata) subscription fee on a document, VAT per line.

    A session is billed once: one line without credits/rebills per transaction (a partial unique index);
    a credit note's line names the line it credits (each at most once), and a re-billed line names the
    credited line it replaces (each at most once)."""

    __tablename__ = "statement_lines"
    __table_args__ = (
        CheckConstraint("kind IN ('session','subscription')", name="kind"),
        Index("uq_statement_lines_billed_once", "transaction_id", unique=True,
              sqlite_where=text(BILLED_ONCE), postgresql_where=text(BILLED_ONCE)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(12))
    transaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("transactions.id", ondelete="SET NULL"), default=None, index=True)
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscription_plans.id", ondelete="SET NULL"), default=None)
    description: Mapped[str] = mapped_column(String(200), default="")
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    energy_wh: Mapped[int] = mapped_column(BigInteger, default=0)
    # Sessions: price per kWh incl. VAT (energy-weighted average for spot). Subscriptions: days held / in month.
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(10, 4), default=None)
    days: Mapped[int] = mapped_column(Integer, default=0)
    days_in_month: Mapped[int] = mapped_column(Integer, default=0)
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    vat_minor: Mapped[int] = mapped_column(BigInteger, default=0)

    credits_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("statement_lines.id"), default=None, unique=True)
    rebills_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("statement_lines.id"), default=None, unique=True)

    statement: Mapped[Statement] = relationship(back_populates="lines")


class Notification(Base):
    """One notification e-mail sent about one thing (a session, a start request), so none is sent twice."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("kind", "ref_id", name="uq_notifications_kind_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    ref_id: Mapped[int] = mapped_column(BigInteger)
    # Empty when the user had turned this kind off: recorded all the same, so it is never reconsidered.
    outbox_id: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
