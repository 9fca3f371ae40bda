"""Tariffs, tariff groups, subscription plans and user subscriptions."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean, CheckConstraint, Column, Date, ForeignKey, Integer, Numeric, String, Table, Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow

PRICING_TYPES = ("standard", "spot", "not_allowed")

tariff_group_tariffs = Table(
    "tariff_group_tariffs",
    Base.metadata,
    Column("tariff_group_id", ForeignKey("tariff_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("tariff_id", ForeignKey("tariffs.id", ondelete="CASCADE"), primary_key=True),
)

tariff_restrictions = Table(
    "tariff_restrictions",
    Base.metadata,
    Column("tariff_id", ForeignKey("tariffs.id", ondelete="CASCADE"), primary_key=True),
    Column("plan_id", ForeignKey("subscription_plans.id", ondelete="CASCADE"), primary_key=True),
)

# A tariff may also be restricted to user groups of its site: members of one of them qualify.
tariff_user_groups = Table(
    "tariff_user_groups",
    Base.metadata,
    Column("tariff_id", ForeignKey("tariffs.id", ondelete="CASCADE"), primary_key=True),
    Column("user_group_id", ForeignKey("user_groups.id", ondelete="CASCADE"), primary_key=True),
)


class SubscriptionPlan(Base):
    __tablename__ = "subscription_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    monthly_fee_minor: Mapped[int] = mapped_column(Integer, default=0)
    # Residents may activate an open plan themselves; a closed plan needs site access first.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A new price for the next period: applies to months starting on or after next_fee_from (a 1st).
    next_fee_minor: Mapped[int | None] = mapped_column(Integer, default=None)
    next_fee_from: Mapped[date | None] = mapped_column(Date, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Tariff(Base):
    __tablename__ = "tariffs"
    __table_args__ = (
        CheckConstraint("pricing_type IN ('standard','spot','not_allowed')", name="pricing_type"),
        CheckConstraint("energy_fee >= 0", name="energy_fee_nonneg"),
        CheckConstraint("min_price_minor >= 0", name="min_price_nonneg"),
        CheckConstraint("preauth_minor >= 0", name="preauth_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    pricing_type: Mapped[str] = mapped_column(String(12), default="standard")
    # Per kWh, in kroner, including VAT.
    energy_fee: Mapped[Decimal] = mapped_column(Numeric(10, 4), default=Decimal("0"))
    min_price_minor: Mapped[int] = mapped_column(Integer, default=0)
    preauth_minor: Mapped[int] = mapped_column(Integer, default=0)
    # Spot pricing: spot price (excl. VAT) + markup per kWh (excl. VAT) + percent markup, then VAT.
    spot_markup: Mapped[Decimal] = mapped_column(Numeric(10, 4), default=Decimal("0"))
    spot_markup_percent: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("0"))
    # Used (incl. VAT, per kWh) for intervals with no spot price.
    spot_fallback: Mapped[Decimal] = mapped_column(Numeric(10, 4), default=Decimal("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    restrictions: Mapped[list[SubscriptionPlan]] = relationship(secondary=tariff_restrictions)
    group_restrictions: Mapped[list["UserGroup"]] = relationship(  # noqa: F821
        secondary=tariff_user_groups, order_by="UserGroup.name")

    @property
    def restricted(self) -> bool:
        return bool(self.restrictions) or bool(self.group_restrictions)


class TariffGroup(Base):
    __tablename__ = "tariff_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    tariffs: Mapped[list[Tariff]] = relationship(secondary=tariff_group_tariffs, order_by="Tariff.id")


class UserSubscription(Base):
    __tablename__ = "user_subscriptions"
    __table_args__ = (CheckConstraint("status IN ('active','ended')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("subscription_plans.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(8), default="active")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    plan: Mapped[SubscriptionPlan] = relationship()
