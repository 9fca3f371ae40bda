"""Sites: housing cooperatives and buildings with chargers."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow
from portal.textnorm import digits, fold

PRICE_AREAS = ("NO1", "NO2", "NO3", "NO4", "NO5", "SE1", "SE2", "SE3", "SE4")
SITE_KINDS = ("borettslag", "sameie", "brf", "commercial", "other")
AGREEMENT_STATUSES = ("none", "active", "ended")


class Site(Base):
    __tablename__ = "sites"
    __table_args__ = (
        CheckConstraint("currency IN ('NOK','SEK')", name="currency"),
        CheckConstraint("agreement_status IN ('none','active','ended')", name="agreement_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    org_number: Mapped[str] = mapped_column(String(20), default="")
    kind: Mapped[str] = mapped_column(String(20), default="borettslag")
    agreement_status: Mapped[str] = mapped_column(String(10), default="active")
    address: Mapped[str] = mapped_column(String(200), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(80), default="")
    country: Mapped[str] = mapped_column(String(2), default="NO")
    price_area: Mapped[str] = mapped_column(String(3), default="NO1")
    currency: Mapped[str] = mapped_column(String(3), default="NOK")
    timezone: Mapped[str] = mapped_column(String(40), default="Europe/Oslo")
    # VAT in basis points: 2500 = 25 %.
    vat_rate_bp: Mapped[int] = mapped_column(Integer, default=2500)
    # The board's choice: a statement unpaid this many days past its due date stops its resident starting a
    # charge here until it is paid (None: never).
    unpaid_block_days: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Name, address, postcode, city and org number folded by portal.textnorm (kept by a mapper event).
    search_text: Mapped[str] = mapped_column(String(500), default="")
    # Ordering portal, editable by the board or staff: how ordering works here, what is offered.
    order_delivery_time: Mapped[str] = mapped_column(String(120), default="")
    order_charger_model: Mapped[str] = mapped_column(String(120), default="")
    order_instructions: Mapped[str] = mapped_column(Text, default="")
    # What a resident pays for a charger here and what that price includes (shown on /order/<site>).
    order_price: Mapped[str] = mapped_column(String(120), default="")
    order_included: Mapped[str] = mapped_column(Text, default="")

    memberships: Mapped[list["Membership"]] = relationship(back_populates="site")  # noqa: F821
    charge_points: Mapped[list["ChargePoint"]] = relationship(back_populates="site")  # noqa: F821

    def refresh_search_text(self) -> None:
        """Recompute the folded search column from the fields a visitor may search by."""
        parts = [self.name, self.address, self.postcode, self.city, digits(self.org_number)]
        self.search_text = fold(" ".join(p or "" for p in parts))[:500]


@event.listens_for(Site, "before_insert")
@event.listens_for(Site, "before_update")
def _keep_search_text(_mapper, _connection, site: Site) -> None:
    site.refresh_search_text()
