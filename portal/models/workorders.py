"""Planned maintenance (left out of uptime) and work orders for the technicians who visit a charger."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow

WORK_ORDER_STATUSES = ("draft", "sent", "scheduled", "on_site", "done", "cancelled")


class MaintenanceWindow(Base):
    """Our own planned work on a site (``charge_point_id`` None) or one charger, from ``starts_at`` to
    ``ends_at``: the time is shown as maintenance and left out of the uptime share."""

    __tablename__ = "maintenance_windows"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    charge_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("charge_points.id", ondelete="CASCADE"), default=None, index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    site: Mapped["Site"] = relationship()  # noqa: F821
    charge_point: Mapped["ChargePoint | None"] = relationship()  # noqa: F821


class WorkOrder(Base):
    """A technician's visit to a charger, from an incident or a ticket (portal/services/workorders).

    The technician works through a private link (sha256 of the token kept, as for visitors' tickets);
    ``done`` needs the charger seen available after ``arrived_at`` or a ``close_reason`` typed by staff.
    """

    __tablename__ = "work_orders"
    __table_args__ = (
        CheckConstraint("status IN (" + ",".join(f"'{s}'" for s in WORK_ORDER_STATUSES) + ")", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    charge_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("charge_points.id", ondelete="SET NULL"), default=None, index=True)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), default=None, index=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("support_tickets.id", ondelete="SET NULL"), default=None, index=True)
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    installer_company: Mapped[str] = mapped_column(String(120), default="")
    technician_name: Mapped[str] = mapped_column(String(120), default="")
    technician_email: Mapped[str] = mapped_column(String(254), default="")
    technician_phone: Mapped[str] = mapped_column(String(32), default="")
    language: Mapped[str] = mapped_column(String(2), default="nb")
    access_window: Mapped[str] = mapped_column(String(200), default="")  # when and how to get in
    story: Mapped[str] = mapped_column(Text, default="")  # the fault's story, copied from ticket/incident
    parts_planned: Mapped[str] = mapped_column(Text, default="")
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    outcome: Mapped[str] = mapped_column(Text, default="")
    parts_used: Mapped[str] = mapped_column(Text, default="")
    close_reason: Mapped[str] = mapped_column(Text, default="")  # staff's words when closed without the proof
    access_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    access_token_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    site: Mapped["Site"] = relationship()  # noqa: F821
    charge_point: Mapped["ChargePoint | None"] = relationship()  # noqa: F821
    incident: Mapped["Incident | None"] = relationship()  # noqa: F821
    ticket: Mapped["SupportTicket | None"] = relationship()  # noqa: F821
    photos: Mapped[list["WorkOrderPhoto"]] = relationship(
        back_populates="work_order", cascade="all, delete-orphan", order_by="WorkOrderPhoto.id")

    @property
    def reference(self) -> str:
        return f"WO-{self.id}"


class WorkOrderPhoto(Base):
    """A technician's photo, re-encoded like ticket photos and stored under UPLOAD_DIR/workorders."""

    __tablename__ = "work_order_photos"
    __table_args__ = (CheckConstraint("content_type IN ('image/jpeg','image/png')", name="content_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    storage_key: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(20))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    work_order: Mapped[WorkOrder] = relationship(back_populates="photos")
