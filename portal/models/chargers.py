"""Charge points (identified by OCPP identity) and their connectors."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow

CHARGE_POINT_TYPES = ("public", "private", "personal")
CONNECTOR_STATUSES = (
    "Available", "Preparing", "Charging", "SuspendedEVSE", "SuspendedEV",
    "Finishing", "Reserved", "Unavailable", "Faulted",
)


class ChargePoint(Base):
    __tablename__ = "charge_points"
    __table_args__ = (
        CheckConstraint("cp_type IN ('public','private','personal')", name="cp_type"),
        CheckConstraint(
            "boot_status IS NULL OR boot_status IN ('Accepted','Pending','Rejected')", name="boot_status"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    identity: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    secret_hash: Mapped[str] = mapped_column(String(255))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    cp_type: Mapped[str] = mapped_column(String(10), default="private")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    # Personal chargers only: False means "authentication not required" = autostart on plug-in.
    auth_required: Mapped[bool] = mapped_column(Boolean, default=True)
    tariff_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("tariff_groups.id", ondelete="SET NULL"), default=None, index=True
    )
    vendor: Mapped[str] = mapped_column(String(50), default="")
    model: Mapped[str] = mapped_column(String(50), default="")
    serial_number: Mapped[str] = mapped_column(String(50), default="")
    firmware_version: Mapped[str] = mapped_column(String(50), default="")
    boot_status: Mapped[str | None] = mapped_column(String(10), default=None)
    # Chargers known to send non-conforming messages may have strict schema validation relaxed.
    relaxed_validation: Mapped[bool] = mapped_column(Boolean, default=False)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    connected_node: Mapped[str | None] = mapped_column(String(64), default=None)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    offline_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    heartbeat_interval: Mapped[int] = mapped_column(Integer, default=300)
    # Diagnostics for support: when it last booted, values skipped as unreadable, clock readings replaced.
    booted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    skipped_samples: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    clock_corrections: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    site: Mapped["Site"] = relationship(back_populates="charge_points")  # noqa: F821
    owner: Mapped["User | None"] = relationship()  # noqa: F821
    tariff_group: Mapped["TariffGroup | None"] = relationship()  # noqa: F821
    connectors: Mapped[list["Connector"]] = relationship(
        back_populates="charge_point", cascade="all, delete-orphan", order_by="Connector.connector_id"
    )

    @property
    def display_name(self) -> str:
        return self.name or self.identity

    @property
    def autostart(self) -> bool:
        return self.cp_type == "personal" and not self.auth_required and self.owner_id is not None

    def connector(self, connector_id: int) -> "Connector | None":
        return next((c for c in self.connectors if c.connector_id == connector_id), None)

    @property
    def outlets(self) -> list["Connector"]:
        """Connectors a car can use (OCPP connectorId >= 1)."""
        return [c for c in self.connectors if c.connector_id >= 1]


class Connector(Base):
    """One outlet; connector_id 0 stands for the whole charger as OCPP reports it."""

    __tablename__ = "connectors"
    __table_args__ = (UniqueConstraint("charge_point_id", "connector_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    charge_point_id: Mapped[int] = mapped_column(ForeignKey("charge_points.id", ondelete="CASCADE"), index=True)
    connector_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="Unavailable")
    error_code: Mapped[str] = mapped_column(String(32), default="NoError")
    info: Mapped[str] = mapped_column(String(50), default="")
    vendor_error_code: Mapped[str] = mapped_column(String(50), default="")
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    charge_point: Mapped[ChargePoint] = relationship(back_populates="connectors")
