"""Monthly statements: what a resident owes a site's operator for one month, line by line."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger, CheckConstraint, ForeignKey, Integer, Numeric, String, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow

LINE_KINDS = ("session", "subscription")


class Statement(Base):
    """One resident's statement for one site and month; totals are the sum of its lines."""

    __tablename__ = "statements"
    __table_args__ = (
        UniqueConstraint("site_id", "user_id", "year", "month", name="uq_statements_site_user_month"),
        CheckConstraint("month BETWEEN 1 AND 12", name="month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
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

    site: Mapped["Site"] = relationship()  # noqa: F821
    user: Mapped["User"] = relationship()  # noqa: F821
    lines: Mapped[list["StatementLine"]] = relationship(
        back_populates="statement", cascade="all, delete-orphan", order_by="StatementLine.position")


class StatementLine(Base):
    """A charging session or a (pro rata) subscription fee on a statement, VAT per line."""

    __tablename__ = "statement_lines"
    __table_args__ = (CheckConstraint("kind IN ('session','subscription')", name="kind"),)

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
