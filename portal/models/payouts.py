"""The cooperative's account (issue 24 part 4): the operator's fee per site, set by staff, and the building's
electricity bill for charging per month, entered by the board. Amounts in minor units (øre/öre), incl. VAT
as on the bill; the sub-meter's kWh as a decimal."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, Numeric, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, UTCDateTime, utcnow


class SitePayoutTerms(Base):
    """The operator's fee at one site: a share of what residents paid (basis points) and/or a fixed amount
    per month. Staff only; the board sees the fee on its payout statement, never this setting's page."""

    __tablename__ = "site_payout_terms"
    __table_args__ = (CheckConstraint("fee_share_bp BETWEEN 0 AND 10000", name="fee_share_bp"),
                      CheckConstraint("fee_fixed_minor >= 0", name="fee_fixed_minor"))

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    fee_share_bp: Mapped[int] = mapped_column(Integer, default=0)
    fee_fixed_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ElectricityBill(Base):
    """The building's electricity for charging in one month, from the sub-meter and the power bills."""

    __tablename__ = "electricity_bills"
    __table_args__ = (UniqueConstraint("site_id", "year", "month", name="uq_electricity_bills_site_month"),
                      CheckConstraint("month BETWEEN 1 AND 12", name="month"),
                      CheckConstraint("kwh > 0", name="kwh"))

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    kwh: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    energy_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    grid_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # the grid tariff's energy part
    capacity_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # the grid tariff's capacity charge
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def cost_minor(self) -> int:
        return self.energy_minor + self.grid_minor + self.capacity_minor
