"""The life of a work order (pure): which event moves which status where, and when it may close.

    draft --send--> sent --confirm--> scheduled --arrive--> on_site --close--> done
      sent/scheduled --arrive--> on_site (a technician who comes without confirming first)
      sent/scheduled/on_site --close--> done, only with the proof or a reason (may_close)
      any open status --cancel--> cancelled;  done and cancelled are final.
Sending again (a new link) and confirming again (a new time) keep the status; reporting the outcome
and parts is done on site.
"""
from __future__ import annotations

from datetime import datetime, timezone

OPEN = ("draft", "sent", "scheduled", "on_site")
FINAL = ("done", "cancelled")
TRANSITIONS: dict[str, dict[str, str]] = {
    "draft": {"send": "sent", "cancel": "cancelled"},
    "sent": {"send": "sent", "confirm": "scheduled", "arrive": "on_site", "close": "done", "cancel": "cancelled"},
    "scheduled": {"send": "scheduled", "confirm": "scheduled", "arrive": "on_site", "close": "done",
                  "cancel": "cancelled"},
    "on_site": {"report": "on_site", "close": "done", "cancel": "cancelled"},
}
# Where the charger's own word counts as proof that it works again.
WORKING_STATUSES = ("Available", "Charging")


class TransitionError(ValueError):
    """The event is not possible now: ``code`` says why (``not_now``, ``needs_proof_or_reason``)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def next_status(status: str, event: str) -> str:
    """The status after `event`, or TransitionError('not_now')."""
    target = TRANSITIONS.get(status, {}).get(event)
    if target is None:
        raise TransitionError("not_now")
    return target


def events_from(status: str) -> list[str]:
    return sorted(TRANSITIONS.get(status, {}))


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def may_close(arrived_at: datetime | None, seen_working_at: datetime | None, reason: str) -> bool:
    """Done only when the charger was seen working after the technician arrived, or staff wrote why."""
    if (reason or "").strip():
        return True
    return bool(arrived_at and seen_working_at and _utc(seen_working_at) >= _utc(arrived_at))


def close_status(status: str, arrived_at: datetime | None, seen_working_at: datetime | None, reason: str) -> str:
    """'done', or TransitionError: not_now (from this status) or needs_proof_or_reason."""
    target = next_status(status, "close")
    if not may_close(arrived_at, seen_working_at, reason):
        raise TransitionError("needs_proof_or_reason")
    return target
