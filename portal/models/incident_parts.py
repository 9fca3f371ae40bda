"""What hangs off an incident: residents who said "me too", the remote steps tried, and a site's own
fault thresholds (NULL: the deployment default from portal/settings.py)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow

INCIDENT_STEPS = ("trigger_status", "soft_reset", "hard_reset", "unlock", "availability_off", "availability_on")


class IncidentFollower(Base):
    """A resident who met the fault too: follows the incident's ticket instead of opening a new one."""

    __tablename__ = "incident_followers"
    __table_args__ = (UniqueConstraint("incident_id", "user_id", name="incident_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped["User"] = relationship()  # noqa: F821


class IncidentStep(Base):
    """A remote step tried on an incident; its outcome is the action request's state."""

    __tablename__ = "incident_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(20))
    action_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("action_requests.id", ondelete="SET NULL"), default=None)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    action_request: Mapped["ActionRequest | None"] = relationship()  # noqa: F821
    by: Mapped["User | None"] = relationship()  # noqa: F821


class SiteFaultSettings(Base):
    """A site's own thresholds for the fault rules; a NULL column takes the deployment default."""

    __tablename__ = "site_fault_settings"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    offline_heartbeats: Mapped[int | None] = mapped_column(Integer, default=None)
    suspended_after_s: Mapped[int | None] = mapped_column(Integer, default=None)
    recovery_after_s: Mapped[int | None] = mapped_column(Integer, default=None)
    failed_starts: Mapped[int | None] = mapped_column(Integer, default=None)
    auto_soft_reset: Mapped[bool] = mapped_column(Boolean, default=False)
