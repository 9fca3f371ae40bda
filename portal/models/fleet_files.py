"""Files that travel between the portal and chargers: firmware going out, diagnostics coming in.

A firmware file belongs to a charger model (vendor + model as the BootNotification says) and is kept
outside ``static/`` with its SHA-256; a rollout offers it to chargers in waves, and each charger's
progress is one ``firmware_updates`` row. A diagnostics request is one GetDiagnostics: the charger
uploads one file to a signed URL, which the row then holds.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow

ROLLOUT_SCOPES = ("charger", "site", "model")
ROLLOUT_STATES = ("running", "stopped", "done", "cancelled")
# Per charger: waiting its wave, waiting for the charger (charging or offline), call sent, then what the
# charger reports, until the next BootNotification shows the new version (done) or it fails.
UPDATE_STATES = ("pending", "waiting", "sent", "downloading", "downloaded", "installing", "installed",
                 "done", "failed", "cancelled")
UPDATE_ACTIVE = ("sent", "downloading", "downloaded", "installing", "installed")
DIAGNOSTICS_STATES = ("requested", "uploading", "uploaded", "failed", "expired")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ",".join(f"'{v}'" for v in values) + ")"


class FirmwareFile(Base):
    __tablename__ = "firmware_files"
    __table_args__ = (UniqueConstraint("vendor", "model", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor: Mapped[str] = mapped_column(String(50))
    model: Mapped[str] = mapped_column(String(50))
    version: Mapped[str] = mapped_column(String(50))  # what the charger reports once it runs this firmware
    filename: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_name: Mapped[str] = mapped_column(String(80))  # under UPLOAD_DIR/firmware
    notes: Mapped[str] = mapped_column(Text, default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FirmwareRollout(Base):
    __tablename__ = "firmware_rollouts"
    __table_args__ = (
        CheckConstraint(_in("scope", ROLLOUT_SCOPES), name="scope"),
        CheckConstraint(_in("state", ROLLOUT_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    firmware_file_id: Mapped[int] = mapped_column(ForeignKey("firmware_files.id", ondelete="RESTRICT"), index=True)
    scope: Mapped[str] = mapped_column(String(10))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"), default=None)
    charge_point_id: Mapped[int | None] = mapped_column(ForeignKey("charge_points.id", ondelete="SET NULL"),
                                                        default=None)
    wave_size: Mapped[int] = mapped_column(Integer, default=5)
    state: Mapped[str] = mapped_column(String(10), default="running", index=True)
    stopped_reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    firmware: Mapped[FirmwareFile] = relationship()
    updates: Mapped[list["FirmwareUpdate"]] = relationship(
        back_populates="rollout", order_by="FirmwareUpdate.position")


class FirmwareUpdate(Base):
    __tablename__ = "firmware_updates"
    __table_args__ = (
        CheckConstraint(_in("state", UPDATE_STATES), name="state"),
        UniqueConstraint("rollout_id", "charge_point_id"),
        Index("ix_firmware_updates_cp_state", "charge_point_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rollout_id: Mapped[int] = mapped_column(ForeignKey("firmware_rollouts.id", ondelete="CASCADE"))
    charge_point_id: Mapped[int] = mapped_column(ForeignKey("charge_points.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # order within the rollout; waves take the lowest first
    state: Mapped[str] = mapped_column(String(14), default="pending")
    old_version: Mapped[str] = mapped_column(String(50), default="")
    reported_version: Mapped[str] = mapped_column(String(50), default="")
    last_status: Mapped[str] = mapped_column(String(24), default="")  # the latest FirmwareStatusNotification
    last_status_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    action_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("action_requests.id", ondelete="SET NULL"), default=None)
    error: Mapped[str] = mapped_column(Text, default="")
    waiting_for: Mapped[str] = mapped_column(String(12), default="")  # 'session' or 'connection'
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # UpdateFirmware calls the charger did not take
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    rollout: Mapped[FirmwareRollout] = relationship(back_populates="updates")
    charge_point: Mapped["ChargePoint"] = relationship()  # noqa: F821


class DiagnosticsRequest(Base):
    __tablename__ = "diagnostics_requests"
    __table_args__ = (CheckConstraint(_in("state", DIAGNOSTICS_STATES), name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    charge_point_id: Mapped[int] = mapped_column(ForeignKey("charge_points.id", ondelete="CASCADE"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("support_tickets.id", ondelete="SET NULL"),
                                                  default=None, index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    action_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("action_requests.id", ondelete="SET NULL"), default=None)
    state: Mapped[str] = mapped_column(String(10), default="requested")
    last_status: Mapped[str] = mapped_column(String(24), default="")
    last_status_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the upload URL's end
    filename: Mapped[str] = mapped_column(String(120), default="")  # as the charger named it
    stored_name: Mapped[str | None] = mapped_column(String(80), default=None)  # set once: one file per request
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    charge_point: Mapped["ChargePoint"] = relationship()  # noqa: F821
