"""A resident's favourite charge points and locations."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow


class Favourite(Base):
    __tablename__ = "favourites"
    __table_args__ = (
        CheckConstraint(
            "(charge_point_id IS NULL) <> (site_id IS NULL)", name="exactly_one_target"
        ),
        UniqueConstraint("user_id", "charge_point_id", name="uq_favourites_user_cp"),
        UniqueConstraint("user_id", "site_id", name="uq_favourites_user_site"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    charge_point_id: Mapped[int | None] = mapped_column(ForeignKey("charge_points.id", ondelete="CASCADE"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    charge_point: Mapped["ChargePoint | None"] = relationship()  # noqa: F821
    site: Mapped["Site | None"] = relationship()  # noqa: F821
