"""Uptime and first-time success for a hand-made month (portal/services/reliability), checked against
figures worked out by hand in the comments.

The month is November 2026 at a site in Europe/Oslo (CET, UTC+1 all month: summer time ended on
25 October). It runs from 2026-10-31 23:00 UTC to 2026-11-30 23:00 UTC: 30 days = 720 h.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from portal.services.reliability.first_start import Start, by_key, success_of
from portal.services.reliability.uptime import (
    Blame, Change, ConnectorRecord, Span, connector_figures, month_bounds, total,
)

OSLO = ZoneInfo("Europe/Oslo")
H = 3600.0


def utc(day: int, hour: int, minute: int = 0, month: int = 11, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=timezone.utc)


START, END = month_bounds(2026, 11, OSLO)
AFTER = utc(7, 12, month=12)  # "now": the report is made on 7 December

# The charger's connection: connected since October; a node restart on the 20th (disconnected for two
# minutes, inside the five-minute grace); a longer cut on the 21st (35 min, of which 30 beyond the grace);
# offline (silent past its heartbeat) on the 15th from 12:00 to 16:00.
CONNECTION = [
    Change(utc(1, 0, month=10), "connected"),
    Change(utc(15, 12), "offline"), Change(utc(15, 16), "connected"),
    Change(utc(20, 3, 0), "disconnected"), Change(utc(20, 3, 2), "connected"),
    Change(utc(21, 10, 0), "disconnected"), Change(utc(21, 10, 35), "connected"),
]
WHOLE_CHARGER = [Change(utc(1, 0, month=10), "Available")]  # connector 0
# Our maintenance on the 25th, 08:00-12:00 UTC, for the whole charger.
MAINTENANCE = [Span(utc(25, 8), utc(25, 12), "firmware")]
INCIDENTS = [
    Blame(utc(10, 22, 30), utc(11, 1, 30), "connector", "operator"),       # the fault across midnight
    Blame(utc(15, 11), utc(15, 17), "site", "grid"),                      # the site went dark (offline)
    Blame(utc(30, 20), None, "charger", "cooperative_network"),          # still open at month end
]
CONNECTOR_1 = [
    Change(utc(30, 10, month=10), "Available"),  # in force when the month begins
    Change(utc(31, 20, month=10), "Faulted"),    # outage across the month's start ...
    Change(utc(1, 1), "Available"),              # ... until 02:00 Oslo time: 2 h inside November
    Change(utc(5, 10), "Charging"),              # the charger's clock jumped back: this row came first,
    Change(utc(5, 9, 30), "Available"),          # this one after, with an earlier time; both are "up"
    Change(utc(10, 22, 30), "Faulted"),          # across midnight: 22:30 -> 01:30 = 3 h
    Change(utc(11, 1, 30), "Available"),
    Change(utc(25, 8, 10), "Unavailable"),       # inside the maintenance window: not down
    Change(utc(25, 11, 50), "Available"),
    Change(utc(30, 20), "Faulted"),              # across the month's end: 20:00 -> 23:00 UTC = 3 h
    Change(utc(1, 5, month=12), "Available"),
    Change(utc(1, 0, month=12, year=2027), "Faulted"),  # a clock far in the future: outside the period
]
CONNECTOR_2 = [Change(utc(1, 0, month=10), "Available")]


def record(statuses):
    return ConnectorRecord(statuses, WHOLE_CHARGER, CONNECTION, MAINTENANCE, INCIDENTS)


def test_connector_1_by_hand():
    # period 720 h; maintenance 4 h (08:00-12:00 on the 25th) -> counted 716 h.
    # down: 2 h (month start, no incident: unknown) + 3 h (across midnight: operator) + 4 h (offline on the
    #       15th: the site incident, grid) + 0.5 h (the 35-minute cut less the 5-minute grace: unknown)
    #       + 3 h (month end: the charger incident, cooperative network) = 12.5 h; the node restart: 0.
    # up: 716 - 12.5 = 703.5 h; uptime 703.5 / 716 = 98.2542 %.
    f = connector_figures(record(CONNECTOR_1), START, END, AFTER)
    assert f.maintenance_s == 4 * H and f.no_data_s == 0
    assert f.down_s == 12.5 * H and f.up_s == 703.5 * H
    assert f.down_by_owner == {"unknown": 2.5 * H, "operator": 3 * H, "grid": 4 * H,
                               "cooperative_network": 3 * H}
    assert f.uptime == pytest.approx(703.5 / 716)
    assert round(f.uptime * 100, 2) == 98.25


def test_connector_2_and_the_whole_charger_by_hand():
    # connector 2 is Available all month; it shares the charger's link: offline 4 h (grid) + 0.5 h (unknown)
    # -> down 4.5 h; maintenance 4 h; up 720 - 4 - 4.5 = 711.5 h.
    # charger = both connectors' time: up 703.5 + 711.5 = 1415 h, down 12.5 + 4.5 = 17 h,
    # uptime 1415 / 1432 = 98.8128 %.
    two = connector_figures(record(CONNECTOR_2), START, END, AFTER)
    assert (two.up_s, two.down_s, two.maintenance_s) == (711.5 * H, 4.5 * H, 4 * H)
    assert two.down_by_owner == {"grid": 4 * H, "unknown": 0.5 * H}
    charger = total([connector_figures(record(CONNECTOR_1), START, END, AFTER), two])
    assert (charger.up_s, charger.down_s) == (1415 * H, 17 * H)
    assert charger.down_by_owner["grid"] == 8 * H
    assert round(charger.uptime * 100, 2) == 98.81


def test_a_month_still_running_counts_up_to_now():
    # now = 15 Nov 14:00 UTC: period 31 Oct 23:00 -> 15 Nov 14:00 = 14 d 15 h = 351 h.
    # down: 2 h (start) + 3 h (midnight) + 2 h (offline from 12:00 to now) = 7 h; up 344 h.
    f = connector_figures(record(CONNECTOR_1), START, END, utc(15, 14))
    assert (f.up_s, f.down_s, f.maintenance_s) == (344 * H, 7 * H, 0)


def test_no_status_yet_is_no_data_and_a_clock_gone_wild_stays_within_0_and_100_percent():
    # The connector's first status arrives on the 16th at 00:00 UTC: the 15 d 1 h before (361 h) are no data.
    late = [Change(utc(16, 0), "Available"), Change(utc(16, 0) - timedelta(days=400), "Bogus")]
    f = connector_figures(ConnectorRecord(late), START, END, AFTER)
    assert f.no_data_s == 361 * H and f.up_s == 359 * H and f.uptime == 1.0
    # Every row in the future (a clock set years ahead): nothing counted, no share, nothing negative.
    future = [Change(utc(1, 0, year=2031), "Faulted")]
    f = connector_figures(ConnectorRecord(future, connection=[Change(utc(1, 0, year=2030), "offline")]),
                          START, END, AFTER)
    assert f.uptime is None and f.no_data_s == 720 * H and f.down_s == 0
    # "now" before the period (a server clock behind): nothing at all.
    assert connector_figures(record(CONNECTOR_1), START, END, utc(1, 0, month=10)).counted_s == 0


def test_first_time_success_by_hand():
    # U1 3 Nov: request refused (no session) at 17:00, then a tap at 17:05 that charged -> a FAILED first
    #           attempt (the later success is the same visit).
    # U1 4 Nov 08:00: charged 7 kWh -> success.
    # U2 4 Nov 23:30 UTC = 5 Nov 00:30 Oslo: a session of 0 Wh -> failed; U2 5 Nov 07:00 UTC (same Oslo
    #           day) charged 3 kWh -> not a new attempt.
    # U2 31 Oct 23:30 UTC = 1 Nov 00:30 Oslo: 4 kWh -> success, in November.
    # U1 31 Oct 22:30 UTC = 31 Oct 23:30 Oslo: October, and U1 30 Nov 23:30 UTC = 1 Dec Oslo: December.
    # -> 4 attempts, 2 succeeded: 50 %. Per connector: connector 1 has U1 3 Nov (fail), U1 4 Nov (ok),
    #    U2 1 Nov (ok) = 2/3; connector 2 has U2 5 Nov (fail) = 0/1.
    starts = [
        Start(1, 7, 1, utc(3, 17), None), Start(1, 7, 1, utc(3, 17, 5), 5000),
        Start(1, 7, 1, utc(4, 8), 7000),
        Start(2, 7, 2, utc(4, 23, 30), 0), Start(2, 7, 2, utc(5, 7), 3000),
        Start(2, 7, 1, utc(31, 23, 30, month=10), 4000),
        Start(1, 7, 1, utc(31, 22, 30, month=10), 1000), Start(1, 7, 1, utc(30, 23, 30), 1000),
    ]
    result = success_of(starts, OSLO, START, END)
    assert (result.attempts, result.succeeded, result.share) == (4, 2, 0.5)
    per_connector = by_key(starts, OSLO, START, END, key=lambda s: s.connector_id)
    assert (per_connector[1].attempts, per_connector[1].succeeded) == (3, 2)
    assert (per_connector[2].attempts, per_connector[2].succeeded) == (1, 0)


def test_month_bounds_follow_the_site_clock():
    start, end = month_bounds(2026, 3, OSLO)  # summer time begins on 29 March: 31 d less 1 h
    assert (end.astimezone(timezone.utc) - start.astimezone(timezone.utc)) == timedelta(hours=743)
    start, end = month_bounds(2026, 12, OSLO)
    assert end == datetime(2027, 1, 1, tzinfo=OSLO)


def test_the_trend_chart_is_drawn_within_its_box():
    from portal.services.reliability.chart import trend_chart

    chart = trend_chart([("Oct", 0.9712), ("Nov", 0.9825), ("Dec", None), ("Jan", 1.0)])
    assert chart.floor == 0.9  # the lowest share, 97 %, rounded down to 5 % is 95 %, but at most 90 %
    full = chart.bars[3]
    assert full.y == 10.0 and full.height == 180.0  # 100 %: the whole plot height (220 - 30 - 10)
    # 97.12 % of the span 90..100 %: 71.2 % of 180 px = 128.16 px high
    assert chart.bars[0].height == pytest.approx(128.2, abs=0.1)
    assert chart.bars[2].height == 0 and chart.bars[2].share is None
    assert all(0 <= b.y <= chart.height and b.x + b.width <= chart.width for b in chart.bars)
    assert trend_chart([("Mar", 0.42)]).floor == 0.4
