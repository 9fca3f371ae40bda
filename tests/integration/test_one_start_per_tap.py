"""One tap, one start, through the whole life of a request (issue 18).

A start (or stop) by the same person on the same connector lands on the earlier request while it is
pending, accepted but not yet followed by the charger's StartTransaction (StopTransaction), or has just
started its session, and within a short window after the earlier request was made whatever became of
it. An accepted start that never leads to a session stops holding the connector after a bounded time.
Taps at the same moment, also at the moment the request is linked to its transaction, are decided by
the database (threads with their own sessions, on this run's engine)."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from portal.db import utcnow
from portal.models import ActionRequest, ChargePoint, Connector, SubscriptionPlan, Transaction, User
from portal.services.charging import actions
from portal.services.charging import action_hooks
from portal.services.staff import remote
from tests.conftest import browser_like_client
from tests.factories import make_user, resident_with_access, subscribe
from portal import settings

START, STOP = actions.START, actions.STOP


@pytest.fixture
def setup(session):
    site, user, cp = resident_with_access(session)
    neighbour = make_user(session, site=site)
    subscribe(session, neighbour, session.scalar(select(SubscriptionPlan).where(SubscriptionPlan.site_id == site.id)))
    staff = make_user(session, staff_role="support")
    session.commit()
    return {"cp_id": cp.id, "identity": cp.identity, "user_id": user.id, "neighbour_id": neighbour.id,
            "staff_id": staff.id}


def tap(db, setup, who: str = "user_id", refusal: str | None = None) -> int:
    """One start tap through the service the start POST uses, in its own committed transaction."""
    with db.session() as s:
        user = s.get(User, setup[who])
        action_id = actions.place_remote_start(s, user, setup["cp_id"], setup["identity"], 1, refusal=refusal)
        s.commit()
        return action_id


def answer(db, action_id: int, state: str = "accepted", ago: float = 0.0) -> None:
    """The worker records the charger's answer (`ago` seconds in the past)."""
    with db.session() as s:
        s.execute(update(ActionRequest).where(ActionRequest.id == action_id).values(state="sent"))
        s.commit()
        actions.finish(s, action_id, state, response={"status": "Accepted" if state == "accepted" else "Rejected"})
        when = utcnow() - timedelta(seconds=ago)
        s.execute(update(ActionRequest).where(ActionRequest.id == action_id).values(answered_at=when))
        s.commit()


def age(db, action_id: int, seconds: float) -> None:
    """Make the request older (its creation `seconds` ago), past the tap window."""
    with db.session() as s:
        s.execute(update(ActionRequest).where(ActionRequest.id == action_id)
                  .values(created_at=utcnow() - timedelta(seconds=seconds)))
        s.commit()


def charger_starts(db, setup, status: str = "Charging") -> int:
    """The charger's StartTransaction arrives (the OCPP node links it), then its StatusNotification."""
    with db.session() as s:
        tag = actions.virtual_tag(s, s.get(User, setup["user_id"])).tag
        tx = Transaction(charge_point_id=setup["cp_id"], connector_id=1, id_tag=tag, user_id=setup["user_id"],
                         start_key=f"tap-{utcnow().timestamp()}", meter_start_wh=1_000, status="active",
                         started_at=utcnow())
        s.add(tx)
        s.flush()
        action_hooks.on_transaction_started(s, tx)
        s.execute(update(Connector).where(Connector.charge_point_id == setup["cp_id"], Connector.connector_id == 1)
                  .values(status=status))
        s.commit()
        return tx.id


def charger_stops(db, tx_id: int) -> None:
    with db.session() as s:
        tx = s.get(Transaction, tx_id)
        tx.status, tx.stopped_at, tx.stop_key = "completed", utcnow(), f"stop-{tx_id}"
        action_hooks.on_transaction_stopped(s, tx)
        s.execute(update(Connector).where(Connector.charge_point_id == tx.charge_point_id)
                  .values(status="Available"))
        s.commit()


def count(db, action: str = START) -> int:
    with db.session() as s:
        return s.scalar(select(func.count(ActionRequest.id)).where(ActionRequest.action == action))


# --- a start, state by state ---------------------------------------------------------------------

def test_while_pending_the_tap_lands_on_the_request(db, setup):
    first = tap(db, setup)
    assert tap(db, setup) == first and count(db) == 1


def test_accepted_but_not_started_holds_the_connector(db, setup):
    first = tap(db, setup)
    answer(db, first)
    age(db, first, 60)  # well past the tap window: the hold alone keeps it
    assert tap(db, setup) == first and count(db) == 1


def test_a_neighbour_gets_occupied_while_the_start_is_accepted_but_not_started(db, setup):
    first = tap(db, setup)
    answer(db, first)
    age(db, first, 60)
    with pytest.raises(actions.ActionRefused) as refused:
        tap(db, setup, "neighbour_id")
    assert refused.value.reason == "occupied" and count(db) == 1


def test_just_started_the_tap_lands_on_the_request_not_occupied(db, setup):
    first = tap(db, setup)
    answer(db, first)
    charger_starts(db, setup)
    age(db, first, 60)
    assert tap(db, setup, refusal="occupied") == first and count(db) == 1
    with pytest.raises(actions.ActionRefused) as refused:
        tap(db, setup, "neighbour_id", refusal="occupied")
    assert refused.value.reason == "occupied"


def test_the_start_post_of_a_just_started_session_shows_that_session(app, login, db, setup):
    first = tap(db, setup)
    answer(db, first)
    charger_starts(db, setup)
    client = browser_like_client(app)
    login(client, type("U", (), {"id": setup["user_id"]}))
    reply = client.post(f"/c/{setup['identity']}/start", data={"connector": "1"})
    assert reply.status_code == 303 and reply.headers["Location"] == f"/charging/{first}"
    assert count(db) == 1


def test_after_the_bounded_time_an_accepted_start_without_a_session_lets_go(db, setup):
    first = tap(db, setup)
    answer(db, first, ago=settings.get("action_no_start_after_s") + 1)
    age(db, first, settings.get("action_no_start_after_s") + 2)
    second = tap(db, setup)
    assert second != first and count(db) == 2
    with db.session() as s:
        assert s.get(ActionRequest, first).no_start_flag


def test_the_sweep_lets_go_of_an_accepted_start_that_never_began(db, setup):
    first = tap(db, setup)
    answer(db, first, ago=settings.get("action_no_start_after_s") + 1)
    age(db, first, settings.get("action_no_start_after_s") + 2)
    with db.session() as s:
        assert actions.sweep(s)["no_start"] == 1
        s.commit()
        row = s.get(ActionRequest, first)
        assert row.no_start_flag and not row.holds_connector
    assert tap(db, setup, "neighbour_id") != first  # nobody is told "occupied" by it any more


def test_before_the_bounded_time_it_still_holds(db, setup):
    first = tap(db, setup)
    answer(db, first, ago=settings.get("action_no_start_after_s") - 5)
    age(db, first, settings.get("action_no_start_after_s"))
    assert tap(db, setup) == first


def test_after_the_session_ended_a_new_start_is_a_new_request(db, setup):
    first = tap(db, setup)
    answer(db, first)
    tx_id = charger_starts(db, setup)
    charger_stops(db, tx_id)
    age(db, first, 60)
    assert tap(db, setup) != first and count(db) == 2


def test_a_start_right_after_a_short_session_ended_is_a_new_request(db, setup):
    first = tap(db, setup)
    answer(db, first)
    charger_stops(db, charger_starts(db, setup))
    assert tap(db, setup) != first  # within the tap window, but that session is over


def test_within_the_tap_window_even_a_refused_start_is_the_same_request(db, setup):
    first = tap(db, setup)
    answer(db, first, "rejected")
    assert tap(db, setup) == first and count(db) == 1
    age(db, first, settings.get("action_tap_window_s") + 1)
    assert tap(db, setup) != first and count(db) == 2


def test_a_neighbour_is_not_held_up_by_someone_elses_refused_start(db, setup):
    first = tap(db, setup)
    answer(db, first, "rejected")
    assert tap(db, setup, "neighbour_id") != first


def test_staff_console_start_after_an_accepted_resident_start_is_sent_as_today(db, setup):
    first = tap(db, setup)
    answer(db, first)
    with db.session() as s:
        row = remote.start(s, s.get(User, setup["staff_id"]), s.get(ChargePoint, setup["cp_id"]), 1,
                           s.get(User, setup["user_id"]).email, "resident called: nothing happens")
        s.commit()
        assert row.id != first
    assert tap(db, setup) == first  # the resident's own tap still lands on their request


# --- a stop, state by state ----------------------------------------------------------------------

def stop_tap(db, tx_id: int, who_id: int) -> int:
    with db.session() as s:
        row = actions.request_remote_stop(s, s.get(User, who_id), s.get(Transaction, tx_id))
        s.commit()
        return row.id


@pytest.fixture
def running(db, setup):
    first = tap(db, setup)
    answer(db, first)
    return charger_starts(db, setup)


def test_stop_while_pending_lands_on_it(db, setup, running):
    first = stop_tap(db, running, setup["user_id"])
    assert stop_tap(db, running, setup["user_id"]) == first and count(db, STOP) == 1


def test_stop_accepted_before_its_stop_transaction_holds(db, setup, running):
    first = stop_tap(db, running, setup["user_id"])
    answer(db, first)
    age(db, first, 60)
    assert stop_tap(db, running, setup["user_id"]) == first and count(db, STOP) == 1


def test_stop_after_the_stop_transaction_is_not_active(db, setup, running):
    first = stop_tap(db, running, setup["user_id"])
    answer(db, first)
    charger_stops(db, running)
    with pytest.raises(actions.ActionRefused) as refused:
        stop_tap(db, running, setup["user_id"])
    assert refused.value.reason == "not_active" and count(db, STOP) == 1


def test_stop_accepted_without_a_stop_transaction_lets_go_after_the_bounded_time(db, setup, running):
    first = stop_tap(db, running, setup["user_id"])
    answer(db, first, ago=settings.get("action_no_start_after_s") + 1)
    age(db, first, settings.get("action_no_start_after_s") + 2)
    assert stop_tap(db, running, setup["user_id"]) != first and count(db, STOP) == 2


def test_stop_refused_by_the_charger_within_the_window_is_the_same_request(db, setup, running):
    first = stop_tap(db, running, setup["user_id"])
    answer(db, first, "rejected")
    assert stop_tap(db, running, setup["user_id"]) == first
    age(db, first, settings.get("action_tap_window_s") + 1)
    assert stop_tap(db, running, setup["user_id"]) != first


# --- at the same moment: threads with their own database sessions --------------------------------

THREADS = 8


def at_once(work, n: int = THREADS) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_many_taps_at_once_make_one_request(db, setup):
    ids = at_once(lambda i: tap(db, setup))
    assert len(set(ids)) == 1 and isinstance(ids[0], int), ids
    assert count(db) == 1


def test_many_taps_at_once_on_an_accepted_start_land_on_it(db, setup):
    first = tap(db, setup)
    answer(db, first)
    age(db, first, 60)
    assert set(at_once(lambda i: tap(db, setup))) == {first} and count(db) == 1


def test_taps_at_the_moment_of_linking_land_on_the_request(db, setup):
    first = tap(db, setup)
    answer(db, first)
    age(db, first, 60)

    def work(i: int):
        if i == 0:
            return charger_starts(db, setup)
        return tap(db, setup, refusal=None if i % 2 else "occupied")

    results = at_once(work)
    assert set(results[1:]) == {first}, results
    assert count(db) == 1


def test_many_taps_at_once_after_the_bounded_time_make_one_new_request(db, setup):
    first = tap(db, setup)
    answer(db, first, ago=settings.get("action_no_start_after_s") + 1)
    age(db, first, settings.get("action_no_start_after_s") + 2)
    ids = at_once(lambda i: tap(db, setup))
    assert len(set(ids)) == 1 and ids[0] != first, ids
    assert count(db) == 2


def test_many_stop_taps_at_once_on_an_accepted_stop_land_on_it(db, setup, running):
    first = stop_tap(db, running, setup["user_id"])
    answer(db, first)
    age(db, first, 60)
    assert set(at_once(lambda i: stop_tap(db, running, setup["user_id"]))) == {first}
    assert count(db, STOP) == 1


# --- the stop button, through the web ------------------------------------------------------------

def test_stop_button_on_an_accepted_stop_sends_nothing_until_the_bounded_time(app, login, db, setup, running):
    client = browser_like_client(app)
    login(client, type("U", (), {"id": setup["user_id"]}))
    assert client.post(f"/sessions/{running}/stop").status_code < 400
    first = stop_tap(db, running, setup["user_id"])  # the same stop the button made
    answer(db, first)
    age(db, first, 60)
    assert client.post(f"/sessions/{running}/stop").status_code < 400
    assert count(db, STOP) == 1
    answer(db, first, ago=settings.get("action_no_start_after_s") + 1)  # the charger never sent its StopTransaction
    assert client.post(f"/sessions/{running}/stop").status_code < 400
    assert count(db, STOP) == 2


def test_staff_tapping_start_on_a_residents_running_session_is_told_occupied_as_before(db, setup, running):
    with pytest.raises(actions.ActionRefused) as refused:
        tap(db, setup, "staff_id", refusal="occupied")
    assert refused.value.reason == "occupied" and count(db) == 1


def test_staff_tapping_start_while_a_residents_start_is_pending_shares_it_as_before(db, setup):
    first = tap(db, setup)
    assert tap(db, setup, "staff_id") == first


def test_a_session_closed_without_the_hook_lets_go_at_the_next_tap_or_sweep(db, setup, running):
    with db.session() as s:  # e.g. support closed a stuck session: no StopTransaction, no hook
        s.execute(update(Transaction).where(Transaction.id == running).values(status="completed"))
        s.commit()
        assert actions.sweep(s)["let_go"] == 1
        s.commit()
    assert isinstance(tap(db, setup, "neighbour_id"), int)  # not "occupied" by the finished session
    assert count(db) == 2
