"""Response targets: by when support should answer a ticket, and whether it is overdue.

The clock runs from ``SupportTicket.awaiting_since`` (the requester's first unanswered message).
Categories in TICKET_URGENT_CATEGORIES (start/stop trouble: someone stands by the car) get
TICKET_URGENT_TARGET_MINUTES around the clock; every other ticket gets TICKET_TARGET_WORKING_HOURS of
support's working hours (SUPPORT_HOURS, Monday to Friday, in SUPPORT_TIMEZONE; public holidays are not
known, so they count as working days). All in portal/settings.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from portal import settings
from portal.models import SupportTicket

ANSWERED_STATES = ("resolved", "closed")


@dataclass(frozen=True)
class Clock:
    """A ticket's times as the queue shows them."""

    age: timedelta
    first_response: timedelta | None  # from opening to the first staff answer
    due_at: datetime | None           # None: nothing waits for us
    overdue: bool


def _hours() -> tuple[int, int]:
    start, _, end = str(settings.get("support_hours")).partition("-")
    first, last = int(start.split(":")[0]), int(end.split(":")[0])
    if not 0 <= first < last <= 24:
        raise settings.SettingError("SUPPORT_HOURS must look like 08-16")
    return first, last


def _at(day, hour: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone) + timedelta(hours=hour) if hour == 24 else \
        datetime.combine(day, time(hour), zone)


def add_working_time(start: datetime, amount: timedelta) -> datetime:
    """``start`` plus ``amount`` counted only inside support's working hours (Monday to Friday)."""
    zone = ZoneInfo(str(settings.get("support_timezone")))
    first, last = _hours()
    local, remaining = start.astimezone(zone), amount
    for _ in range(400):  # a year of days at most, whatever the settings say
        day = local.date()
        opens, closes = _at(day, first, zone), _at(day, last, zone)
        if day.weekday() < 5 and local < closes:
            local = max(local, opens)
            if remaining <= closes - local:
                return local + remaining
            remaining -= closes - local
        local = _at(day + timedelta(days=1), 0, zone)
    return local


def urgent(category: str) -> bool:
    return category in {c.strip() for c in str(settings.get("ticket_urgent_categories")).split(",")}


def due_at(category: str, since: datetime) -> datetime:
    """When the answer to a message sent at ``since`` is due."""
    if urgent(category):
        return since + timedelta(minutes=int(settings.get("ticket_urgent_target_minutes")))
    return add_working_time(since, timedelta(hours=float(settings.get("ticket_target_working_hours"))))


def clock(ticket: SupportTicket, now: datetime) -> Clock:
    first = ticket.first_response_at - ticket.created_at if ticket.first_response_at else None
    waiting = ticket.awaiting_since if ticket.status not in ANSWERED_STATES else None
    due = due_at(ticket.category, waiting) if waiting else None
    return Clock(age=now - ticket.created_at, first_response=first, due_at=due,
                 overdue=due is not None and now > due)
