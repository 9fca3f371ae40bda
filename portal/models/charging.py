"""Charging sessions (OCPP transactions), their meter readings, and stops nobody could match."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, Numeric, String, Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow

TRANSACTION_STATUSES = ("active", "completed")
MAX_METER_FLAGS = 20  # a session keeps at most this many meter notes; a note never makes a message fail


class Transaction(Base):
    """One charging session. Its primary key is the OCPP transactionId given to the charger."""

    __tablename__ = "transactions"
    __table_args__ = (CheckConstraint("status IN ('active','completed')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    charge_point_id: Mapped[int] = mapped_column(ForeignKey("charge_points.id", ondelete="RESTRICT"), index=True)
    connector_id: Mapped[int] = mapped_column(Integer)
    id_tag: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="active", index=True)
    # Content fingerprint of the StartTransaction / StopTransaction, so a charger's retry is recognised.
    start_key: Mapped[str] = mapped_column(String(64), unique=True)
    stop_key: Mapped[str | None] = mapped_column(String(64), default=None)
    meter_start_wh: Mapped[int] = mapped_column(BigInteger)
    meter_stop_wh: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Latest register reading seen while charging (by the charger's time of reading); keeps the energy
    # if the charger never sends its stop.
    meter_last_wh: Mapped[int | None] = mapped_column(BigInteger, default=None)
    meter_last_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    stop_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    energy_wh: Mapped[int] = mapped_column(BigInteger, default=0)
    # Meter and clock problems, one {"code": ..., details} per problem (see portal.services.charging.meter_flags):
    # flagged for support, not billed blindly, never parsed back from text.
    meter_flags: Mapped[list | None] = mapped_column(JSON, default=list)
    # The access decision when the start arrived (access.REASONS code or "ok") and whether it is billed.
    access_decision: Mapped[str | None] = mapped_column(String(32), default=None)
    billable: Mapped[bool] = mapped_column(Boolean, default=True)

    # Price snapshot taken at start: a later tariff change never touches a running session.
    tariff_id: Mapped[int | None] = mapped_column(ForeignKey("tariffs.id", ondelete="SET NULL"), default=None)
    tariff_name: Mapped[str] = mapped_column(String(120), default="")
    pricing_type: Mapped[str] = mapped_column(String(12), default="standard")
    energy_fee: Mapped[Decimal] = mapped_column(Numeric(10, 4), default=Decimal("0"))
    min_price_minor: Mapped[int] = mapped_column(Integer, default=0)
    preauth_minor: Mapped[int] = mapped_column(Integer, default=0)
    spot_markup: Mapped[Decimal] = mapped_column(Numeric(10, 4), default=Decimal("0"))
    spot_markup_percent: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("0"))
    spot_fallback: Mapped[Decimal] = mapped_column(Numeric(10, 4), default=Decimal("0"))
    price_area: Mapped[str] = mapped_column(String(3), default="NO1")
    currency: Mapped[str] = mapped_column(String(3), default="NOK")
    vat_rate_bp: Mapped[int] = mapped_column(Integer, default=2500)

    cost_minor: Mapped[int | None] = mapped_column(Integer, default=None)
    vat_minor: Mapped[int | None] = mapped_column(Integer, default=None)
    # Set when a spot session used the fallback price for at least one interval.
    price_flag: Mapped[str | None] = mapped_column(String(120), default=None)
    # Closed by support (the charger never sent its stop): who, why, and whether it was billed.
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    close_note: Mapped[str | None] = mapped_column(Text, default=None)
    close_billed: Mapped[bool | None] = mapped_column(default=None)
    # What the resident is told about that closure: a code of portal.services.charging.after_close.RESIDENT_REASONS,
    # shown translated. close_note is the internal reason and never reaches a resident's page.
    resident_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    # The charger went on reporting a session support closed by hand (portal.services.charging.after_close): the
    # energy it reported beyond the closure (Wh, never billed), when it first and last did so (our clock),
    # when its own StopTransaction finally came, and when support looked at that energy.
    after_close_wh: Mapped[int | None] = mapped_column(BigInteger, default=None)
    after_close_first_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    after_close_last_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    after_close_stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    after_close_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Support has looked at the meter flag (it stays on the record; the overview stops listing it).
    flag_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    charge_point: Mapped["ChargePoint"] = relationship()  # noqa: F821
    user: Mapped["User | None"] = relationship(foreign_keys=[user_id])  # noqa: F821
    closed_by: Mapped["User | None"] = relationship(foreign_keys=[closed_by_id])  # noqa: F821

    @property
    def closed_by_support(self) -> bool:
        return self.close_note is not None

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def flag_codes(self) -> set[str]:
        return {f.get("code") for f in (self.meter_flags or []) if isinstance(f, dict)}

    @property
    def refused_at_start(self) -> bool:
        """The charger was told Invalid/Blocked at start: energy is recorded, never billed."""
        return self.access_decision not in (None, "ok")


class MeterValue(Base):
    """One sampled value (energy register, power, current, SoC) from MeterValues or StopTransaction data."""

    __tablename__ = "meter_values"

    id: Mapped[int] = mapped_column(primary_key=True)
    charge_point_id: Mapped[int] = mapped_column(ForeignKey("charge_points.id", ondelete="CASCADE"), index=True)
    connector_id: Mapped[int] = mapped_column(Integer)
    transaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("transactions.id", ondelete="CASCADE"), index=True, default=None
    )
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    measurand: Mapped[str] = mapped_column(String(48), default="Energy.Active.Import.Register")
    value: Mapped[Decimal] = mapped_column(Numeric(16, 3))
    unit: Mapped[str] = mapped_column(String(12), default="Wh")
    phase: Mapped[str | None] = mapped_column(String(8), default=None)
    context: Mapped[str | None] = mapped_column(String(24), default=None)
    # Fingerprint of (charger, connector, time, measurand, phase, location): a sample sent twice is stored once.
    sample_key: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OrphanStop(Base):
    """A StopTransaction for a transaction we do not know: accepted, kept for support to reconcile."""

    __tablename__ = "orphan_stops"

    id: Mapped[int] = mapped_column(primary_key=True)
    charge_point_id: Mapped[int] = mapped_column(ForeignKey("charge_points.id", ondelete="CASCADE"), index=True)
    transaction_id: Mapped[int] = mapped_column(BigInteger)
    id_tag: Mapped[str | None] = mapped_column(String(20), default=None)
    meter_stop_wh: Mapped[int] = mapped_column(BigInteger)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(String(32), default=None)
    stop_key: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    charge_point: Mapped["ChargePoint"] = relationship()  # noqa: F821
