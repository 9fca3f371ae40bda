"""The work order's state machine (portal/services/workorders/states.py)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from portal.services.workorders.states import (
    FINAL, TransitionError, close_status, events_from, may_close, next_status,
)

T0 = datetime(2026, 11, 12, 9, 0, tzinfo=timezone.utc)


def test_the_happy_path_from_draft_to_done():
    status = "draft"
    for event, expected in (("send", "sent"), ("confirm", "scheduled"), ("confirm", "scheduled"),
                            ("arrive", "on_site"), ("report", "on_site")):
        status = next_status(status, event)
        assert status == expected
    assert close_status(status, T0, T0 + timedelta(minutes=40), "") == "done"


@pytest.mark.parametrize("status, event", [
    ("draft", "confirm"), ("draft", "arrive"), ("draft", "close"), ("draft", "report"), ("sent", "report"),
    ("scheduled", "report"), ("on_site", "send"), ("on_site", "confirm"), ("on_site", "arrive"),
    ("done", "cancel"), ("done", "send"), ("cancelled", "send"), ("cancelled", "close"), ("nonsense", "send"),
])
def test_events_that_are_not_possible(status, event):
    with pytest.raises(TransitionError) as err:
        next_status(status, event)
    assert err.value.code == "not_now"


def test_final_states_accept_nothing_and_open_ones_can_be_cancelled():
    assert all(events_from(s) == [] for s in FINAL)
    for status in ("draft", "sent", "scheduled", "on_site"):
        assert next_status(status, "cancel") == "cancelled"


def test_done_needs_the_charger_seen_working_after_arrival_or_a_reason():
    assert may_close(T0, T0, "")  # seen working the same second the visit started
    assert not may_close(T0, T0 - timedelta(seconds=1), "")  # seen working before the visit: no proof
    assert not may_close(None, T0, "")  # no arrival reported: nothing to compare with
    assert not may_close(T0, None, "  ")  # a blank reason is no reason
    assert may_close(None, None, "Fixed by a remote reset; visit not needed")
    naive = datetime(2026, 11, 12, 9, 30)  # a time from SQLite without its zone: read as UTC
    assert may_close(T0, naive, "")
    with pytest.raises(TransitionError) as err:
        close_status("on_site", T0, None, "")
    assert err.value.code == "needs_proof_or_reason"
    with pytest.raises(TransitionError):
        close_status("draft", T0, T0, "reason")
