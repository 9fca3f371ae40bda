"""Uptime of a connector over a period, from the record of what the charger said (pure, no database).

Definitions (README, "Uptime and first-time success"):
- up: the connector's status is one a session can start or run in (UP_STATUSES);
- down: the status is Faulted or Unavailable (on the connector, or on connector 0, the whole charger),
  or the charger is offline (silent past its heartbeat), or its socket has been closed for longer
  than DISCONNECT_GRACE (a node restart that the charger rides out by reconnecting costs nothing);
- maintenance: inside one of our planned maintenance windows, whatever the charger said: left out of
  the share and shown on its own;
- no data: before the first status we have for the connector (or an unknown status): left out too.
uptime = up / (up + down). The period is clipped to [start, min(end, now)), every segment to the
period, and the record is read in time order, so a charger clock that jumps never makes a negative
duration nor a share outside 0..100 %.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

UP_STATUSES = frozenset({"Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing",
                         "Reserved"})
DOWN_STATUSES = frozenset({"Faulted", "Unavailable"})
DISCONNECT_GRACE = timedelta(minutes=5)
OWNERS = ("operator", "cooperative_network", "cooperative_power", "grid", "unknown")
_SCOPE_RANK = {"connector": 0, "charger": 1, "site": 2}


@dataclass(frozen=True)
class Change:
    """From ``at`` on the value holds, until the next change (a status, or a connection state)."""

    at: datetime
    value: str


@dataclass(frozen=True)
class Span:
    """A stretch of time [start, end), e.g. a maintenance window; ``end`` None = still going."""

    start: datetime
    end: datetime | None
    label: str = ""


@dataclass(frozen=True)
class Blame:
    """An incident as the uptime sees it: when, how specific (connector/charger/site), whose."""

    start: datetime
    end: datetime | None
    scope: str
    owner: str


@dataclass
class Figures:
    """Seconds of a period by kind; adding two Figures sums them (charger = its connectors, site = all)."""

    up_s: float = 0.0
    down_s: float = 0.0
    maintenance_s: float = 0.0
    no_data_s: float = 0.0
    down_by_owner: dict[str, float] = field(default_factory=dict)

    def __add__(self, other: "Figures") -> "Figures":
        owners = dict(self.down_by_owner)
        for owner, seconds in other.down_by_owner.items():
            owners[owner] = owners.get(owner, 0.0) + seconds
        return Figures(self.up_s + other.up_s, self.down_s + other.down_s,
                       self.maintenance_s + other.maintenance_s, self.no_data_s + other.no_data_s, owners)

    @property
    def counted_s(self) -> float:
        return self.up_s + self.down_s

    @property
    def uptime(self) -> float | None:
        """The share of counted time the connector could charge, 0..1; None without any counted time."""
        if self.counted_s <= 0:
            return None
        return min(1.0, max(0.0, self.up_s / self.counted_s))


@dataclass
class ConnectorRecord:
    """Everything that decides one connector's time: its statuses (the last one before the period
    included), the whole charger's (connector 0), the charger's connection, maintenance windows and
    incidents that cover it."""

    statuses: list[Change]
    charger_statuses: list[Change] = field(default_factory=list)
    connection: list[Change] = field(default_factory=list)
    maintenance: list[Span] = field(default_factory=list)
    incidents: list[Blame] = field(default_factory=list)


class _Timeline:
    """Lookup of the value in force at a moment, from changes sorted by time (stable for equal times)."""

    def __init__(self, changes: list[Change]) -> None:
        ordered = sorted(changes, key=lambda c: c.at)
        self.times = [c.at for c in ordered]
        self.changes = ordered

    def at(self, moment: datetime) -> Change | None:
        i = bisect_right(self.times, moment)
        return self.changes[i - 1] if i else None


def _inside(spans: list[Span], moment: datetime) -> bool:
    return any(s.start <= moment and (s.end is None or moment < s.end) for s in spans)


def _link_down(link: Change | None, moment: datetime) -> bool:
    if link is None:
        return False
    if link.value == "offline":
        return True
    return link.value == "disconnected" and moment >= link.at + DISCONNECT_GRACE


def _kind(record: ConnectorRecord, lines: tuple[_Timeline, _Timeline, _Timeline], moment: datetime) -> str:
    """'maintenance', 'no_data', 'down' or 'up' for the segment that begins at `moment`."""
    statuses, whole, connection = lines
    if _inside(record.maintenance, moment):
        return "maintenance"
    status = statuses.at(moment)
    if status is None or status.value not in UP_STATUSES | DOWN_STATUSES:
        return "no_data"
    charger = whole.at(moment)
    if status.value in DOWN_STATUSES or (charger is not None and charger.value in DOWN_STATUSES):
        return "down"
    return "down" if _link_down(connection.at(moment), moment) else "up"


def _owner(incidents: list[Blame], moment: datetime) -> str:
    """Whose the downtime at `moment` was: the most specific incident covering it, else unknown."""
    covering = [b for b in incidents if b.start <= moment and (b.end is None or moment < b.end)]
    if not covering:
        return "unknown"
    best = min(covering, key=lambda b: (_SCOPE_RANK.get(b.scope, 3), b.start))
    return best.owner if best.owner in OWNERS else "unknown"


def _breakpoints(record: ConnectorRecord, start: datetime, end: datetime) -> list[datetime]:
    moments = {start, end}
    moments.update(c.at for c in (*record.statuses, *record.charger_statuses, *record.connection))
    moments.update(c.at + DISCONNECT_GRACE for c in record.connection if c.value == "disconnected")
    for span in (*record.maintenance, *record.incidents):
        moments.add(span.start)
        if span.end is not None:
            moments.add(span.end)
    # In UTC: Python subtracts two times of one zone object by the wall clock (an hour off across DST).
    return sorted({m.astimezone(timezone.utc) for m in moments if start <= m <= end})


def connector_figures(record: ConnectorRecord, start: datetime, end: datetime, now: datetime) -> Figures:
    """The figures of one connector over [start, end), counting nothing after `now`."""
    end = min(end, now)
    figures = Figures()
    if end <= start:
        return figures
    lines = (_Timeline(record.statuses), _Timeline(record.charger_statuses), _Timeline(record.connection))
    points = _breakpoints(record, start, end)
    for left, right in zip(points, points[1:]):
        seconds = (right - left).total_seconds()
        kind = _kind(record, lines, left)
        setattr(figures, f"{kind}_s", getattr(figures, f"{kind}_s") + seconds)
        if kind == "down":
            owner = _owner(record.incidents, left)
            figures.down_by_owner[owner] = figures.down_by_owner.get(owner, 0.0) + seconds
    return figures


def total(figures: list[Figures]) -> Figures:
    """The sum of several connectors' figures (connector-time weighted share)."""
    result = Figures()
    for item in figures:
        result = result + item
    return result


def month_bounds(year: int, month: int, zone) -> tuple[datetime, datetime]:
    """The first moment of the month and of the next one, in the site's time zone (aware datetimes)."""
    start = datetime(year, month, 1, tzinfo=zone)
    following = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
    return start, following
