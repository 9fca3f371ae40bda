"""First-time success: the share of residents' first attempts that delivered energy (pure, no database).

An *attempt* is a resident's first start on a charger in one local day (the site's time zone): the
earliest of their remote start requests (action_requests RemoteStartTransaction) and their sessions
(transactions, e.g. an RFID tap) on that charger that day. Later tries the same day are the same visit
and do not count again, so a resident who had to try three times counts as one failed first attempt.
It *succeeded* when that first start became a session with more than 0 Wh (a request: the session it
opened; a session: its own energy). Starts without a resident (unknown tags) are not attempts.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo


@dataclass(frozen=True)
class Start:
    """One start by a resident: a remote start request or a session. ``energy_wh`` is what the start led
    to: None when it opened no session (refused, timed out), else the session's energy."""

    user_id: int
    charge_point_id: int
    connector_id: int | None
    at: datetime
    energy_wh: int | None


@dataclass
class Success:
    attempts: int = 0
    succeeded: int = 0

    def __add__(self, other: "Success") -> "Success":
        return Success(self.attempts + other.attempts, self.succeeded + other.succeeded)

    @property
    def share(self) -> float | None:
        return self.succeeded / self.attempts if self.attempts else None


def first_attempts(starts: list[Start], zone: tzinfo) -> list[Start]:
    """The first start per (resident, charger, local day); a request and the session it opened share a
    time order, so the request (earlier) stands for both."""
    firsts: dict[tuple[int, int, date], Start] = {}
    for start in sorted(starts, key=lambda s: s.at):
        key = (start.user_id, start.charge_point_id, start.at.astimezone(zone).date())
        firsts.setdefault(key, start)
    return list(firsts.values())


def success_of(starts: list[Start], zone: tzinfo, begin: datetime, end: datetime) -> Success:
    """Attempts and successes among first starts in [begin, end)."""
    result = Success()
    for first in first_attempts(starts, zone):
        if begin <= first.at < end:
            result.attempts += 1
            result.succeeded += int((first.energy_wh or 0) > 0)
    return result


def by_key(starts: list[Start], zone: tzinfo, begin: datetime, end: datetime, key) -> dict:
    """Success per key(start) (e.g. per charger or per connector) of the first attempts in [begin, end)."""
    groups: dict = {}
    for first in first_attempts(starts, zone):
        if begin <= first.at < end:
            group = groups.setdefault(key(first), Success())
            group.attempts += 1
            group.succeeded += int((first.energy_wh or 0) > 0)
    return groups
