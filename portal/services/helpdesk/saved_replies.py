"""Saved replies: ready answers per language, kept by support and admins, with placeholders.

A placeholder is a word in curly braces: ``{name}`` (the requester's name, else their e-mail address),
``{charger}`` (the ticket's charger) and ``{site}`` (its site). A text with any other ``{word}``, or a
stray brace, is refused when saved, so a reply never reaches a customer with a hole in it.
"""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.models import SavedReply, SupportTicket, User

PLACEHOLDERS = ("name", "charger", "site")
_TOKEN = re.compile(r"\{([^{}]*)\}")


class SavedReplyError(ValueError):
    """``code`` is ``unknown_placeholder`` (``names`` lists them), ``stray_brace`` or ``title_taken``."""

    def __init__(self, code: str, names: tuple[str, ...] = ()) -> None:
        super().__init__(code)
        self.code, self.names = code, names


def check_placeholders(body: str) -> None:
    unknown = tuple(dict.fromkeys(n for n in _TOKEN.findall(body) if n not in PLACEHOLDERS))
    if unknown:
        raise SavedReplyError("unknown_placeholder", unknown)
    if "{" in _TOKEN.sub("", body) or "}" in _TOKEN.sub("", body):
        raise SavedReplyError("stray_brace")


def replies(session: Session, language: str | None = None) -> list[SavedReply]:
    query = select(SavedReply).order_by(SavedReply.language, SavedReply.title)
    if language:
        query = query.where(SavedReply.language == language)
    return list(session.scalars(query))


def save(session: Session, reply: SavedReply | None, *, language: str, title: str, body: str,
         author: User) -> SavedReply:
    """Create (``reply`` None) or change a saved reply after checking its placeholders (flush only)."""
    check_placeholders(body)
    reply = reply or SavedReply()
    reply.language, reply.title, reply.body, reply.updated_by_id = language, title.strip(), body.strip(), author.id
    session.add(reply)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise SavedReplyError("title_taken") from exc
    return reply


def fill(body: str, ticket: SupportTicket) -> str:
    """The text for this ticket: every known placeholder replaced (an unknown value becomes empty)."""
    values = {
        "name": ticket.requester_name or ticket.requester_email,
        "charger": (ticket.charge_point.display_name if ticket.charge_point else ticket.charger_identity) or "",
        "site": ticket.site.name if ticket.site else "",
    }
    return _TOKEN.sub(lambda m: values.get(m.group(1), m.group(0)), body)
