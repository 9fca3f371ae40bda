"""Users and their memberships of sites."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, UniqueConstraint, event, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow
from portal.textnorm import fold

STAFF_ROLES = ("support", "sales", "admin")
MEMBER_ROLES = ("resident", "board")
LANGUAGES = ("nb", "sv", "en")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("staff_role IS NULL OR staff_role IN ('support','sales','admin')", name="staff_role"),
        CheckConstraint("language IN ('nb','sv','en')", name="language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    # The name folded by portal.textnorm ("Rita Ødegård" -> "rita odegard"), for support's search; kept by a
    # mapper event.
    search_name: Mapped[str] = mapped_column(String(120), default="", server_default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(2), default="nb")
    staff_role: Mapped[str | None] = mapped_column(String(16), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    # The token of the log-in session this object was loaded for (set by portal.security.sessions; not stored).
    login_token = None  # type: str | None
    # E-mail notifications the user can turn off on the account page (see portal/services/people/notify.py).
    notify_session_done: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    notify_session_stopped: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    notify_start_failed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    notify_statement: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    memberships: Mapped[list["Membership"]] = relationship(back_populates="user", cascade="all, delete-orphan")

    # Flask-Login protocol, kept here so no Flask import is needed.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """What the session and remember cookies carry: the user id and the log-in session's token."""
        return f"{self.id}:{self.login_token or ''}"

    @property
    def is_staff(self) -> bool:
        return self.staff_role is not None

    @property
    def is_support(self) -> bool:
        return self.staff_role in ("support", "admin")

    @property
    def is_sales(self) -> bool:
        return self.staff_role in ("sales", "admin")

    @property
    def is_admin(self) -> bool:
        return self.staff_role == "admin"

    @property
    def display_name(self) -> str:
        return self.name or self.email


@event.listens_for(User, "before_insert")
@event.listens_for(User, "before_update")
def _keep_search_name(_mapper, _connection, user: User) -> None:
    user.search_name = fold(user.name or "")[:120]


class Membership(Base):
    """A user's access to a site: resident or board member, private access granted by invite."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "site_id"),
        CheckConstraint("role IN ('resident','board')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="resident")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    site: Mapped["Site"] = relationship(back_populates="memberships")  # noqa: F821
