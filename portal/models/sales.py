"""Sales: quote requests (leads) from boards and owners, and charger orders from residents."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow
from portal.models.support import _in

LEAD_STATUSES = ("new", "contacted", "offer_sent", "won", "lost")
ORG_TYPES = ("housing_cooperative", "condominium", "commercial", "other")
LEAD_KINDS = ("takeover", "new_installation")
ORDER_STATUSES = ("received", "installer_booked", "installed", "configured", "cancelled")


class Lead(Base):
    """A quote request: who asks, for what organisation, and how sales follows it up."""

    __tablename__ = "leads"
    __table_args__ = (
        CheckConstraint(_in("status", LEAD_STATUSES), name="status"),
        CheckConstraint(_in("org_type", ORG_TYPES), name="org_type"),
        CheckConstraint(_in("kind", LEAD_KINDS), name="kind"),
        CheckConstraint("country IN ('NO','SE')", name="country"),
        CheckConstraint("language IN ('nb','sv','en')", name="language"),
        CheckConstraint("parking_spaces >= 0", name="parking_spaces"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(12), default="new", index=True)
    org_type: Mapped[str] = mapped_column(String(24))
    org_name: Mapped[str] = mapped_column(String(160))
    # Stored compact (digits only); country tells which register it belongs to.
    org_number: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2), default="NO")
    contact_name: Mapped[str] = mapped_column(String(120))
    contact_role: Mapped[str] = mapped_column(String(80), default="")
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(32), default="")
    parking_spaces: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(2), default="nb")
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"), default=None)
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    next_step_on: Mapped[date | None] = mapped_column(Date, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    site: Mapped["Site | None"] = relationship()  # noqa: F821
    assignee: Mapped["User | None"] = relationship(foreign_keys=[assignee_id])  # noqa: F821


class ChargerOrder(Base):
    """A resident's order of a charger for their parking space at a site with an agreement."""

    __tablename__ = "charger_orders"
    __table_args__ = (
        CheckConstraint(_in("status", ORDER_STATUSES), name="status"),
        CheckConstraint("language IN ('nb','sv','en')", name="language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(32), default="")
    parking_space: Mapped[str] = mapped_column(String(40))
    charger_model: Mapped[str] = mapped_column(String(120), default="")
    language: Mapped[str] = mapped_column(String(2), default="nb")
    # sha256 hex of the private link in the confirmation e-mail (visitors have no account).
    access_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    # last use of the private link; it stops working LINK_IDLE_DAYS after (portal/services/helpdesk/tokens.py)
    access_token_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # random seed the link token is derived from with the secret key (tokens.py): status e-mails carry it
    access_token_seed: Mapped[str | None] = mapped_column(String(32), default=None)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    site: Mapped["Site"] = relationship()  # noqa: F821
    user: Mapped["User | None"] = relationship(foreign_keys=[user_id])  # noqa: F821
    assignee: Mapped["User | None"] = relationship(foreign_keys=[assignee_id])  # noqa: F821

    @property
    def reference(self) -> str:
        """The order number shown to the requester and quoted on the phone: running, 'B-00042'
        (B for bestilling / beställning)."""
        return f"B-{self.id:05d}"
