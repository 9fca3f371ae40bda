"""Running a fleet: chargers that tried to connect but are not (yet) let in.

``waiting_chargers`` holds one row per identity that failed the handshake (never one per attempt): the
node adds up its attempts in memory and writes them in batches, and the table is capped
(OCPP_WAITING_MAX_ROWS), so strangers hammering the port cannot fill the database. Staff claim a row to
a site (ocpp_server/waiting.py records, portal/services/fleet/onboarding.py claims).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow

# What was wrong with the last attempt: an identity we do not know, a known one with a wrong password,
# or no usable Basic credentials at all (no header, or a user name other than the identity).
WAITING_REASONS = ("unknown_identity", "wrong_password", "no_password")


class WaitingCharger(Base):
    __tablename__ = "waiting_chargers"
    __table_args__ = (
        CheckConstraint("reason IN ('unknown_identity','wrong_password','no_password')", name="reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    identity: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(String(20))
    # The known charger whose secret was wrong (set at recording time), or the one made by the claim.
    charge_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("charge_points.id", ondelete="SET NULL"), default=None)
    remote_address: Mapped[str] = mapped_column(String(64), default="")
    # What the HTTP handshake said (an unknown charger is never let in to send a BootNotification).
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    subprotocols: Mapped[str] = mapped_column(String(100), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)

    charge_point: Mapped["ChargePoint | None"] = relationship()  # noqa: F821
    claimed_by: Mapped["User | None"] = relationship()  # noqa: F821
