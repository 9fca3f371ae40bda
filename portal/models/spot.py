"""Day-ahead spot prices per price area and interval."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, UTCDateTime, utcnow


class SpotPrice(Base):
    __tablename__ = "spot_prices"
    __table_args__ = (UniqueConstraint("price_area", "starts_at", name="uq_spot_prices_area_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    price_area: Mapped[str] = mapped_column(String(3), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Per kWh excluding VAT, in the area's currency (may be negative on the exchange).
    price_per_kwh: Mapped[Decimal] = mapped_column(Numeric(12, 5))
    currency: Mapped[str] = mapped_column(String(3), default="NOK")
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
