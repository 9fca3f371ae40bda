"""Every OCPP frame in and out, per charger, for support."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, UTCDateTime, utcnow


class OcppMessage(Base):
    __tablename__ = "ocpp_messages"
    __table_args__ = (
        CheckConstraint("direction IN ('in','out')", name="direction"),
        Index("ix_ocpp_messages_identity_created", "identity", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    identity: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(3))
    message_type: Mapped[int | None] = mapped_column(default=None)
    unique_id: Mapped[str | None] = mapped_column(String(64), default=None)
    action: Mapped[str | None] = mapped_column(String(40), default=None)
    frame: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
