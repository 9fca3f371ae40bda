"""Id tags: RFID cards and each user's virtual tag used for remote starts."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow


class IdTag(Base):
    __tablename__ = "id_tags"
    __table_args__ = (CheckConstraint("kind IN ('rfid','virtual')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # OCPP 1.6 idToken is at most 20 characters.
    tag: Mapped[str] = mapped_column(String(20), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8), default="rfid")
    name: Mapped[str] = mapped_column(String(60), default="")
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why support blocked it: a code of portal.services.people.plain_reasons.TAG_BLOCKED, shown to the owner in
    # their language. None when the owner blocked it themselves (or it is not blocked).
    blocked_reason: Mapped[str | None] = mapped_column(String(24), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped["User | None"] = relationship()  # noqa: F821
