"""Support tickets: the thread of messages between a requester and support staff, and photos.

A ticket belongs to a signed-in requester (``requester_id``) or to a visitor known only by e-mail;
the visitor reaches the thread through a private link whose token is stored hashed
(``access_token_hash``). Staff notes are messages with ``internal`` set: never shown to the requester.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow

TICKET_STATUSES = ("new", "open", "waiting_for_customer", "resolved", "closed")
TICKET_CATEGORIES = ("start_stop", "charger_fault", "billing", "account", "getting_started", "other")
# Who should handle it, set by the defective-charger guide: our support (the default), remote
# diagnostics for a charger sold by someone else, or technical support asked by an installer first.
TICKET_ROUTES = ("operator", "remote_diagnostics", "technical_support")
AUTHOR_ROLES = ("requester", "staff", "system")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ",".join(f"'{v}'" for v in values) + ")"


class SupportTicket(Base):
    __tablename__ = "support_tickets"
    __table_args__ = (
        CheckConstraint(_in("status", TICKET_STATUSES), name="status"),
        CheckConstraint(_in("category", TICKET_CATEGORIES), name="category"),
        CheckConstraint(_in("route", TICKET_ROUTES), name="route"),
        CheckConstraint("language IN ('nb','sv','en')", name="language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(24), default="new", index=True)
    category: Mapped[str] = mapped_column(String(20), default="other")
    route: Mapped[str] = mapped_column(String(20), default="operator")
    subject: Mapped[str] = mapped_column(String(200), default="")
    requester_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True)
    requester_email: Mapped[str] = mapped_column(String(254))
    requester_name: Mapped[str] = mapped_column(String(120), default="")
    requester_phone: Mapped[str] = mapped_column(String(32), default="")
    language: Mapped[str] = mapped_column(String(2), default="nb")
    charge_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("charge_points.id", ondelete="SET NULL"), default=None, index=True)
    # What the requester typed (a visitor's charger, or the identity as it was when the ticket was opened).
    charger_identity: Mapped[str] = mapped_column(String(64), default="")
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"), default=None, index=True)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True)
    # sha256 hex of the visitor's private link token; None for tickets of signed-in users.
    access_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    # last use of the private link; it stops working LINK_IDLE_DAYS after (portal/services/helpdesk/tokens.py)
    access_token_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Since when the requester waits for an answer from us (set by their messages, cleared by a staff
    # answer); the response target runs from here (portal/services/helpdesk/targets.py).
    awaiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None, index=True)
    # The requester wrote after the assignee last looked: the marker on /staff (cleared when they open it).
    customer_replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # A duplicate closed by a merge points at the ticket that carries on.
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("support_tickets.id", ondelete="SET NULL"), default=None)

    requester: Mapped["User | None"] = relationship(foreign_keys=[requester_id])  # noqa: F821
    assignee: Mapped["User | None"] = relationship(foreign_keys=[assignee_id])  # noqa: F821
    charge_point: Mapped["ChargePoint | None"] = relationship()  # noqa: F821
    site: Mapped["Site | None"] = relationship()  # noqa: F821
    messages: Mapped[list["TicketMessage"]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="TicketMessage.id")
    photos: Mapped[list["TicketPhoto"]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="TicketPhoto.id")

    @property
    def reference(self) -> str:
        """The number a requester quotes on the phone."""
        return f"#{self.id}"


class TicketMessage(Base):
    __tablename__ = "ticket_messages"
    __table_args__ = (CheckConstraint(_in("author_role", AUTHOR_ROLES), name="author_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("support_tickets.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    author_role: Mapped[str] = mapped_column(String(10), default="requester")
    body: Mapped[str] = mapped_column(Text)
    # A staff note: visible to staff only, never e-mailed to the requester.
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    ticket: Mapped[SupportTicket] = relationship(back_populates="messages")
    author: Mapped["User | None"] = relationship()  # noqa: F821


class TicketPhoto(Base):
    """A photo re-encoded by Pillow, stored under UPLOAD_DIR (never under static/) as ``storage_key``."""

    __tablename__ = "ticket_photos"
    __table_args__ = (CheckConstraint("content_type IN ('image/jpeg','image/png')", name="content_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("support_tickets.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_messages.id", ondelete="SET NULL"), default=None)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    storage_key: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(20))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    ticket: Mapped[SupportTicket] = relationship(back_populates="photos")


class SavedReply(Base):
    """A ready answer support inserts into the reply box; ``{name}``, ``{charger}`` and ``{site}`` are
    filled for the ticket at hand (portal/services/helpdesk/saved_replies.py)."""

    __tablename__ = "saved_replies"
    __table_args__ = (
        CheckConstraint("language IN ('nb','sv','en')", name="language"),
        UniqueConstraint("language", "title"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(String(2))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
