"""What chargers have reported over time, and the faults made of it.

``connector_status_changes`` and ``charger_connection_changes`` hold one row per *change* (not per
message): they are the record uptime is computed from, so a row says "from ``at`` on, this was so"
until the next row of the same connector (or charger). ``incidents`` are faults found in that record
by rules: one row per cause while it lasts, whatever the number of messages that show it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow

CONNECTION_STATES = ("connected", "disconnected", "offline")
INCIDENT_SCOPES = ("connector", "charger", "site")
INCIDENT_CAUSES = ("faulted", "offline", "suspended_evse", "unavailable", "failed_starts", "site_dark")
INCIDENT_STATUSES = ("open", "recovering", "resolved")
# Whose the downtime was, for uptime reports: ours, the cooperative's network or power, or the grid.
DOWNTIME_OWNERS = ("unknown", "operator", "cooperative_network", "cooperative_power", "grid")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ",".join(f"'{v}'" for v in values) + ")"


class ConnectorStatusChange(Base):
    """A connector's status from ``at`` (the charger's own time, whole seconds) until the next row."""

    __tablename__ = "connector_status_changes"
    __table_args__ = (Index("ix_connector_status_changes_cp_conn_at", "charge_point_id", "connector_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    charge_point_id: Mapped[int] = mapped_column(ForeignKey("charge_points.id", ondelete="CASCADE"))
    connector_id: Mapped[int] = mapped_column(Integer)  # OCPP connectorId; 0 is the whole charger
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str] = mapped_column(String(32), default="NoError")
    vendor_error_code: Mapped[str] = mapped_column(String(50), default="")
    info: Mapped[str] = mapped_column(String(50), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ChargerConnectionChange(Base):
    """A charger's link from ``at`` until the next row: connected, disconnected (socket closed) or
    offline (socket open or not, but silent past its heartbeat interval)."""

    __tablename__ = "charger_connection_changes"
    __table_args__ = (
        CheckConstraint(_in("state", CONNECTION_STATES), name="state"),
        Index("ix_charger_connection_changes_cp_at", "charge_point_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    charge_point_id: Mapped[int] = mapped_column(ForeignKey("charge_points.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(12))
    node_id: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Incident(Base):
    """One fault with one cause, open until the charger shows it cleared.

    ``open_key`` is set only while the incident is not resolved and is unique, so two rules (or two
    workers) seeing the same fault at once make one incident, not two; resolving sets it to NULL.
    """

    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint(_in("scope", INCIDENT_SCOPES), name="scope"),
        CheckConstraint(_in("cause", INCIDENT_CAUSES), name="cause"),
        CheckConstraint(_in("status", INCIDENT_STATUSES), name="status"),
        CheckConstraint(_in("downtime_owner", DOWNTIME_OWNERS), name="downtime_owner"),
        Index("ix_incidents_site_status", "site_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    charge_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("charge_points.id", ondelete="CASCADE"), default=None, index=True)
    connector_id: Mapped[int | None] = mapped_column(Integer, default=None)  # OCPP connectorId
    scope: Mapped[str] = mapped_column(String(10))
    cause: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[str] = mapped_column(String(32), default="")
    vendor_error_code: Mapped[str] = mapped_column(String(50), default="")
    info: Mapped[str] = mapped_column(String(50), default="")
    status: Mapped[str] = mapped_column(String(12), default="open")
    open_key: Mapped[str | None] = mapped_column(String(120), unique=True, default=None)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when the fault began (charger's time)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)  # when a rule saw it
    last_event_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    events: Mapped[int] = mapped_column(Integer, default=1)
    recovering_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    resolved_by: Mapped[str] = mapped_column(String(10), default="")  # 'charger' or 'staff'
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("support_tickets.id", ondelete="SET NULL"), default=None, index=True)
    downtime_owner: Mapped[str] = mapped_column(String(20), default="unknown")
    cause_found: Mapped[str] = mapped_column(Text, default="")  # what support found, in their words
    # A site outage's e-mails to residents and board: sent once when it began and once when it ended.
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    notified_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    charge_point: Mapped["ChargePoint | None"] = relationship()  # noqa: F821
    site: Mapped["Site"] = relationship()  # noqa: F821
    ticket: Mapped["SupportTicket | None"] = relationship()  # noqa: F821
