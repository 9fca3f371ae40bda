"""Charger action requests: what a page asked a charger to do, and how it went."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow

ACTION_STATES = ("queued", "sent", "accepted", "rejected", "failed", "timed_out", "charger_offline")
FINAL_STATES = ("accepted", "rejected", "failed", "timed_out", "charger_offline")
# At most one start and one stop holding each connector, guaranteed by the database (double taps). A start
# holds from its INSERT until it fails, or its session ends, or it was accepted but no session followed in
# time; a stop until it fails, or its StopTransaction arrives, or it was accepted but none followed in time
# (portal.services.charging.connector_holds). A flag, not the state: the hold outlives 'accepted'.
HOLDING_ACTIONS = ("RemoteStartTransaction", "RemoteStopTransaction")
ONE_HOLDING_WHERE = text(
    "holds_connector AND action IN ('RemoteStartTransaction','RemoteStopTransaction')"
)


class ActionRequest(Base):
    __tablename__ = "action_requests"
    __table_args__ = (
        CheckConstraint(
            "state IN ('queued','sent','accepted','rejected','failed','timed_out','charger_offline')",
            name="state",
        ),
        Index("uq_action_requests_one_holding", "charge_point_id", "connector_id", "action", unique=True,
              sqlite_where=ONE_HOLDING_WHERE, postgresql_where=ONE_HOLDING_WHERE),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    charge_point_id: Mapped[int] = mapped_column(ForeignKey("charge_points.id", ondelete="CASCADE"), index=True)
    connector_id: Mapped[int | None] = mapped_column(Integer, default=None)
    action: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    job_id: Mapped[str | None] = mapped_column(String(64), default=None)
    response: Mapped[dict | None] = mapped_column(JSON, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    # Remote start: the session the charger opened in answer, once its StartTransaction arrives.
    transaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("transactions.id", ondelete="SET NULL"), default=None, index=True
    )
    # Set when an accepted remote start was never followed by a StartTransaction in time.
    no_start_flag: Mapped[bool] = mapped_column(default=False)
    # A remote start or stop that keeps the connector to itself (see ONE_HOLDING_WHERE).
    holds_connector: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Staff requests: why (shown in the history and the audit log).
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    # AuthorizationKey rotation: the new secret's hash, moved to the charger once it accepts.
    pending_secret_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    charge_point: Mapped["ChargePoint"] = relationship()  # noqa: F821
    requested_by: Mapped["User | None"] = relationship()  # noqa: F821
    transaction: Mapped["Transaction | None"] = relationship()  # noqa: F821

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES
