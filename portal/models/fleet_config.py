"""Running a fleet (issue 21): configuration templates per charger model, what each charger answered to
them, and the local authorisation list sent to each charger."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, UTCDateTime, utcnow


class ConfigTemplate(Base):
    """The configuration keys and values to apply after each boot to chargers of one vendor and model.

    Empty vendor and model: the default template, used when no model template matches."""

    __tablename__ = "config_templates"
    __table_args__ = (UniqueConstraint("vendor", "model", name="vendor_model"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    vendor: Mapped[str] = mapped_column(String(50), default="")
    model: Mapped[str] = mapped_column(String(50), default="")
    entries: Mapped[list] = mapped_column(JSON, default=list)  # [[key, value], ...] in the order given
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ChargerConfigKey(Base):
    """One key of a charger's template: what we wanted, what the charger answered and when, and drift found."""

    __tablename__ = "charger_config_keys"
    __table_args__ = (UniqueConstraint("charge_point_id", "key", name="charger_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    charge_point_id: Mapped[int] = mapped_column(ForeignKey("charge_points.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(50))
    wanted: Mapped[str] = mapped_column(String(500), default="")
    # Accepted | Rejected | RebootRequired | NotSupported | Failed (no answer) | InPlace (already so)
    status: Mapped[str] = mapped_column(String(16), default="")
    detail: Mapped[str] = mapped_column(String(200), default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    drift_value: Mapped[str | None] = mapped_column(String(500), default=None)  # what the charger had instead
    drift_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class LocalListState(Base):
    """The local authorisation list as last sent to one charger: version, tags, when, and the outcome."""

    __tablename__ = "local_list_states"

    charge_point_id: Mapped[int] = mapped_column(
        ForeignKey("charge_points.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)  # the version the charger accepted last
    tags: Mapped[list] = mapped_column(JSON, default=list)  # the tags that version holds
    last_kind: Mapped[str] = mapped_column(String(12), default="")  # Full | Differential
    outcome: Mapped[str] = mapped_column(String(20), default="")  # Accepted | Failed | VersionMismatch | ...
    detail: Mapped[str] = mapped_column(String(200), default="")
    max_length: Mapped[int | None] = mapped_column(Integer, default=None)  # LocalAuthListMaxLength
    send_max: Mapped[int | None] = mapped_column(Integer, default=None)  # SendLocalListMaxLength
    left_out: Mapped[int] = mapped_column(Integer, default=0)  # tags that did not fit LocalAuthListMaxLength
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
