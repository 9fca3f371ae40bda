"""Smart charging within the building's fuse (issue 22, step one): the site's power, its circuits, and per
charger its connection, its capabilities (read at boot) and the safe-floor profile it holds."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, UTCDateTime, utcnow


class SitePower(Base):
    """The current available for charging per line at a site, its phases and its grid (230 V IT, 400 V TN)."""

    __tablename__ = "site_power"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    max_current_a: Mapped[int] = mapped_column(Integer)
    phases: Mapped[int] = mapped_column(Integer, default=3)
    voltage: Mapped[int] = mapped_column(Integer, default=400)  # 230: IT, 400: TN
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PowerCircuit(Base):
    """A group of chargers behind a sub-fuse with its own limit per line; it may sit inside another circuit."""

    __tablename__ = "power_circuits"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    max_current_a: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("power_circuits.id", ondelete="SET NULL"),
                                                  default=None)


class ChargerPower(Base):
    """One charger's electrical connection, what it can do, and the floor profile sent to it with its answer."""

    __tablename__ = "charger_power"

    charge_point_id: Mapped[int] = mapped_column(
        ForeignKey("charge_points.id", ondelete="CASCADE"), primary_key=True)
    phases: Mapped[int] = mapped_column(Integer, default=3)
    lines: Mapped[str] = mapped_column(String(8), default="")  # one-phase: L1 | L2 | L3 (TN), L1-L2 ... (IT)
    max_current_a: Mapped[int] = mapped_column(Integer, default=16)
    circuit_id: Mapped[int | None] = mapped_column(ForeignKey("power_circuits.id", ondelete="SET NULL"),
                                                   default=None)
    tolerates_pause: Mapped[bool] = mapped_column(Boolean, default=False)
    # Read at boot (GetConfiguration); None: not read yet
    smart: Mapped[bool | None] = mapped_column(Boolean, default=None)
    max_stack_level: Mapped[int | None] = mapped_column(Integer, default=None)
    rate_units: Mapped[str] = mapped_column(String(20), default="")  # ChargingScheduleAllowedChargingRateUnit
    max_profiles: Mapped[int | None] = mapped_column(Integer, default=None)
    capabilities_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The floor profile: what we sent, and the answer (Accepted | Rejected | NotSupported | Failed)
    floor_a: Mapped[int | None] = mapped_column(Integer, default=None)
    profile_limit: Mapped[float | None] = mapped_column(Float, default=None)
    profile_unit: Mapped[str] = mapped_column(String(1), default="")
    profile_status: Mapped[str] = mapped_column(String(16), default="")
    profile_detail: Mapped[str] = mapped_column(String(200), default="")
    profile_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
