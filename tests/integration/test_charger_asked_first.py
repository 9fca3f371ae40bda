"""Issue 18, "the charger is asked first": a running session is ended by a remote stop and closes from the
charger's own StopTransaction; a hand close only for a charger that is offline or did not stop it, with an
override when the charger reported the session in the last minutes; whatever a charger reports after a hand
close raises an alert with a one-step stop and is recorded for review, never billed; the resident is told a
fixed reason in their language, never the staff member's internal one."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.db import utcnow
from portal.models import ActionRequest, AuditEntry, MeterValue, OrphanStop, Transaction
from portal.services import ocpp_ingest
from portal.services.charging import actions, after_close
from portal.services.ocpp_ingest.common import format_time
from portal.services.staff import overview, stuck
from tests.factories import make_user, resident_with_access

HX = {"HX-Request": "true"}
INTERNAL = "resident shouted at the hotline, charger 3 looks dodgy"


@pytest.fixture
def running(session):
    """A session charging right now on an online charger: the charger reported it 20 s ago."""
    site, resident, cp = resident_with_access(session, fee="2.00")
    board = make_user(session, "board@asked.test", site=site, role="board")
    support = make_user(session, "support@asked.test", staff_role="support")
    other = make_user(session, "other@asked.test", site=site)
    now = utcnow()
    started = now - timedelta(minutes=40)
    tx = Transaction(charge_point_id=cp.id, connector_id=1, id_tag="VTAG-ASK", user_id=resident.id, status="active",
                     start_key="asked-1", meter_start_wh=10_000, started_at=started, created_at=started,
                     tariff_name="Residents", energy_fee=Decimal("2.00"), currency="NOK", vat_rate_bp=2500)
    session.add(tx)
    session.flush()
    session.add(MeterValue(charge_point_id=cp.id, connector_id=1, transaction_id=tx.id, value=Decimal(15_000),
                           timestamp=now - timedelta(seconds=20), received_at=now - timedelta(seconds=20)))
    tx.meter_last_wh, tx.meter_last_at = 15_000, now - timedelta(seconds=20)
    cp.connector(1).status = "Charging"
    session.commit()
    return {"tx": tx, "cp": cp, "site": site, "resident": resident, "support": support, "board": board,
            "other": other}


def _meter(session, identity, tx_id, wh, *, connector=1, at=None, with_id=True, open_id=None):
    at = at or utcnow()
    ocpp_ingest.meter_values(session, identity, connector_id=connector, transaction_id=tx_id if with_id else None,
                             meter_value=[{"timestamp": format_time(at), "sampled_value": [{"value": str(wh)}]}],
                             now=at, open_transaction_id=open_id)
    session.commit()


def _stop(session, identity, tx_id, meter_stop, at=None):
    ocpp_ingest.stop_transaction(session, identity, transaction_id=tx_id, meter_stop=meter_stop,
                                 timestamp=at or utcnow(), reason="Remote", id_tag=None, transaction_data=None,
                                 payload={"transactionId": tx_id}, now=utcnow())
    session.commit()


def _hand_close(session, s, **kw):
    kw.setdefault("override", True)
    kw.setdefault("override_reason", "charger keeps sending but ignores stops")
    tx = stuck.close(session, s["support"], s["tx"], end_reading="last", billed=kw.pop("billed", True),
                     reason=INTERNAL, resident_reason=kw.pop("resident_reason", "charger_no_stop"), **kw)
    session.commit()
    return tx


def _close_form(client, tx_id, **data):
    data = {"end_reading": "last", "billing": "not_billed", "reason": INTERNAL,
            "resident_reason": "charger_no_stop", **data}
    return client.post(f"/staff/sessions/{tx_id}/close", data=data, headers=HX)


# --- the close decision ---------------------------------------------------------------------------------

def test_an_online_charger_is_asked_to_stop_and_a_hand_close_is_refused(client, login, session, running):
    s, tx = running, running["tx"]
    decision = stuck.decide(session, tx)
    assert (decision.hand_close, decision.why, decision.override_needed) == (False, "ask_charger", True)
    with pytest.raises(stuck.CloseRefused) as refused:
        _hand_close(session, s)
    assert refused.value.code == "ask_charger_first"
    session.rollback()

    login(client, s["support"])
    page = client.get(f"/staff/sessions/{tx.id}/close").get_data(as_text=True)
    assert 'data-testid="ask-first"' in page and 'data-testid="next-button"' not in page
    assert 'data-recent="yes"' in page and ">Charging<" in page.replace(" · ", "<")
    forced = _close_form(client, tx.id, confirmed="yes", override="y", override_reason="x")
    assert forced.status_code == 422  # enforced on the server, not only by the page
    session.expire_all()
    assert session.get(Transaction, tx.id).is_active

    asked = client.post(f"/staff/sessions/{tx.id}/close/ask", data={"reason": "resident called"}, headers=HX)
    assert asked.status_code == 200 and 'data-why="stop_pending"' in asked.get_data(as_text=True)
    row = session.scalar(select(ActionRequest).where(ActionRequest.action == actions.STOP))
    assert (row.payload, row.transaction_id, row.state, row.reason) == (
        {"transactionId": tx.id}, tx.id, "queued", "resident called")
    assert 'hx-trigger="every 3s"' in client.get(f"/staff/sessions/{tx.id}/close", headers=HX).get_data(as_text=True)


@pytest.mark.parametrize("state, answered_ago, why, allowed", [
    ("sent", None, "stop_pending", False),
    ("accepted", timedelta(seconds=30), "stop_accepted", False),
    ("accepted", stuck.STOP_ANSWER_GRACE + timedelta(seconds=5), "stop_ignored", True),
    ("rejected", timedelta(seconds=1), "stop_unanswered", True),
    ("timed_out", timedelta(seconds=1), "stop_unanswered", True),
    ("charger_offline", timedelta(seconds=1), "stop_unanswered", True),
    ("failed", timedelta(seconds=1), "stop_unanswered", True),
])
def test_a_hand_close_is_offered_only_when_the_stop_did_not_work(session, running, state, answered_ago, why,
                                                                  allowed):
    s, tx = running, running["tx"]
    row = actions.create_action(session, charge_point=s["cp"], action=actions.STOP, payload={"transactionId": tx.id},
                                requested_by=s["support"], connector_id=1, transaction_id=tx.id)
    row.state = state
    row.answered_at = utcnow() - answered_ago if answered_ago else None
    session.commit()
    decision = stuck.decide(session, tx)
    assert (decision.why, decision.hand_close) == (why, allowed)


def test_a_recent_report_needs_the_override_with_a_reason(client, login, session, running):
    s, tx = running, running["tx"]
    s["cp"].online = False  # offline: a hand close is offered, but the charger reported the session 20 s ago
    session.commit()
    assert stuck.decide(session, tx).override_needed
    for override, why in ((False, ""), (True, ""), (False, "checked the site")):
        with pytest.raises(stuck.CloseRefused) as refused:
            _hand_close(session, s, override=override, override_reason=why)
        assert refused.value.code == "override_required"
        session.rollback()

    login(client, s["support"])
    page = client.get(f"/staff/sessions/{tx.id}/close").get_data(as_text=True)
    assert 'data-testid="override"' in page and 'data-why="offline"' in page
    missing = _close_form(client, tx.id)
    assert missing.status_code == 422 and "Tick the box" in missing.get_data(as_text=True)
    confirm = _close_form(client, tx.id, override="y", override_reason="garage has no signal")
    assert 'data-step="confirm"' in confirm.get_data(as_text=True)
    done = _close_form(client, tx.id, override="y", override_reason="garage has no signal", confirmed="yes")
    assert done.headers["HX-Redirect"] == f"/staff/chargers/{s['cp'].identity}"
    session.expire_all()
    closed = session.get(Transaction, tx.id)
    assert (closed.status, closed.resident_reason, closed.close_note) == ("completed", "charger_no_stop", INTERNAL)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "closed_by_support"))
    assert entry.after["override"] is True and entry.after["override_reason"] == "garage has no signal"
    assert entry.after["why_by_hand"] == "offline"


def test_an_old_report_on_an_offline_charger_needs_no_override(session, running):
    s = running
    s["cp"].online = False
    old = utcnow() - stuck.RECENT_REPORT - timedelta(minutes=1)
    for mv in session.scalars(select(MeterValue)):
        mv.received_at = old
    session.commit()
    assert not stuck.decide(session, s["tx"]).override_needed
    tx = _hand_close(session, s, override=False, override_reason="")
    assert tx.status == "completed"


def test_the_charger_s_own_stop_closes_the_session_billed_once(client, login, session, running):
    s, tx = running, running["tx"]
    login(client, s["support"])
    client.post(f"/staff/sessions/{tx.id}/close/ask", data={"reason": "resident called"}, headers=HX)
    stopped_at = utcnow()
    _stop(session, s["cp"].identity, tx.id, 16_000, stopped_at)
    session.expire_all()
    done = session.get(Transaction, tx.id)
    assert (done.status, done.energy_wh, done.cost_minor, done.close_note) == ("completed", 6_000, 1200, None)
    page = client.get(f"/staff/sessions/{tx.id}/close").get_data(as_text=True)
    assert 'data-testid="stopped-by-charger"' in page
    with pytest.raises(stuck.CloseRefused):
        _hand_close(session, s)
    session.rollback()
    _stop(session, s["cp"].identity, tx.id, 16_000, stopped_at)  # the charger resends its stop: billed once
    session.expire_all()
    assert session.get(Transaction, tx.id).cost_minor == 1200
    assert session.scalar(select(OrphanStop)) is None


# --- after a hand close: alert, one-step stop, energy for review -----------------------------------------

@pytest.fixture
def hand_closed(session, running):
    """Closed by hand while the charger was offline; it comes back and goes on charging the session."""
    s = running
    s["cp"].online = False
    session.commit()
    _hand_close(session, s, billed=True)
    s["cp"].online = True
    session.commit()
    return s


def test_meter_values_after_a_hand_close_raise_the_alert_and_are_never_billed(client, login, session, hand_closed):
    s, tx = hand_closed, hand_closed["tx"]
    session.expire_all()
    billed = session.get(Transaction, tx.id)
    cost, stop_wh = billed.cost_minor, billed.meter_stop_wh
    assert (cost, stop_wh) == (1000, 15_000)
    for wh in (16_000, 17_500):
        _meter(session, s["cp"].identity, tx.id, wh)
    session.expire_all()
    after = session.get(Transaction, tx.id)
    assert (after.cost_minor, after.meter_stop_wh, after.energy_wh, after.meter_last_wh) == (cost, 15_000, 5_000,
                                                                                             15_000)
    assert after.after_close_wh == 2_500 and after.after_close_last_at is not None
    late = session.scalars(select(MeterValue).where(MeterValue.value >= 16_000)).all()
    assert len(late) == 2 and all(mv.transaction_id is None for mv in late)  # kept, but not as billed readings

    data = overview.overview(session)
    assert [t.id for t in data.still_charging] == [tx.id] and [t.id for t in data.after_close_energy] == [tx.id]
    login(client, s["support"])
    staff_page = client.get("/staff").get_data(as_text=True)
    assert 'data-testid="still-charging"' in staff_page and f'data-testid="after-close-stop-{tx.id}"' in staff_page
    assert "Nothing needs a look" not in staff_page
    charger_page = client.get(f"/staff/chargers/{s['cp'].identity}").get_data(as_text=True)
    assert f'data-testid="after-close-stop-{tx.id}"' in charger_page
    assert f'data-testid="after-close-stop-{tx.id}"' in client.get(
        f"/staff/chargers/{s['cp'].identity}", headers=HX).get_data(as_text=True)  # and in the live poll

    login(client, s["resident"])
    start = client.get(f"/c/{s['cp'].identity}").get_data(as_text=True)
    assert 'data-testid="stop-after-close"' in start
    login(client, s["other"])
    assert 'data-testid="stop-after-close"' not in client.get(f"/c/{s['cp'].identity}").get_data(as_text=True)
    assert client.post(f"/sessions/{tx.id}/stop-charger", headers=HX).status_code == 404

    login(client, s["resident"])
    stopped = client.post(f"/sessions/{tx.id}/stop-charger", headers=HX)
    assert stopped.headers["HX-Redirect"] == f"/c/{s['cp'].identity}"
    row = session.scalar(select(ActionRequest).where(ActionRequest.action == actions.STOP))
    assert (row.payload, row.requested_by_id, row.state) == ({"transactionId": tx.id}, s["resident"].id, "queued")
    again = client.post(f"/sessions/{tx.id}/stop-charger", headers=HX)  # a double tap: the same request
    assert again.status_code == 204
    assert len(session.scalars(select(ActionRequest).where(ActionRequest.action == actions.STOP)).all()) == 1
    assert 'data-testid="stop-after-close-sent"' in client.get(f"/c/{s['cp'].identity}").get_data(as_text=True)

    # the charger obeys: its StopTransaction is kept for review, the bill stays, the alert ends
    _stop(session, s["cp"].identity, tx.id, 18_000)
    session.expire_all()
    final = session.get(Transaction, tx.id)
    assert (final.cost_minor, final.meter_stop_wh, final.stop_reason) == (cost, 15_000, "ClosedBySupport")
    assert final.after_close_wh == 3_000 and final.after_close_stopped_at is not None
    assert "after support closed" in session.scalar(select(OrphanStop)).note
    assert 'data-testid="stop-after-close"' not in client.get(f"/c/{s['cp'].identity}").get_data(as_text=True)
    data = overview.overview(session)
    assert data.still_charging == [] and [t.id for t in data.after_close_energy] == [tx.id]

    login(client, s["support"])
    assert client.post(f"/staff/sessions/{tx.id}/after-close-reviewed", data={"reason": ""}).status_code in (204, 303)
    assert overview.overview(session).after_close_energy  # a reason is required
    client.post(f"/staff/sessions/{tx.id}/after-close-reviewed", data={"reason": "credited nothing, 3 kWh"})
    session.expire_all()
    assert overview.overview(session).after_close_energy == []
    assert session.get(Transaction, tx.id).after_close_wh == 3_000  # stays on the record


def test_support_stops_it_in_one_step(client, login, session, hand_closed):
    s, tx = hand_closed, hand_closed["tx"]
    _meter(session, s["cp"].identity, tx.id, 16_000)
    login(client, s["support"])
    done = client.post(f"/staff/sessions/{tx.id}/stop-after-close", headers=HX)
    row = session.scalar(select(ActionRequest).where(ActionRequest.action == actions.STOP))
    assert done.headers["HX-Redirect"] == f"/staff/actions/{row.id}"
    assert (row.payload, row.transaction_id, row.connector_id) == ({"transactionId": tx.id}, tx.id, 1)


def test_nothing_to_stop_when_the_charger_is_quiet(client, login, session, hand_closed):
    s, tx = hand_closed, hand_closed["tx"]
    s["cp"].connector(1).status = "Available"
    session.commit()
    assert after_close.still_reported(session) == []
    with pytest.raises(actions.ActionRefused) as refused:
        after_close.request_stop(session, s["resident"], tx)
    assert refused.value.reason == "not_reported"
    # an outlet that still says Charging after the closure is an alert too (the charger never said otherwise)
    s["cp"].connector(1).status = "Charging"
    session.commit()
    assert [t.id for t in after_close.still_reported(session)] == [tx.id]
    # ... but not once a later session runs on the outlet
    session.add(Transaction(charge_point_id=s["cp"].id, connector_id=1, id_tag="X", status="active",
                            start_key="asked-later", meter_start_wh=20_000, started_at=utcnow()))
    session.commit()
    assert after_close.still_reported(session) == []


def test_meter_values_without_a_transaction_id_and_a_charging_status_count_too(session, hand_closed):
    s, tx = hand_closed, hand_closed["tx"]
    s["cp"].connector(1).status = "Available"
    session.commit()
    _meter(session, s["cp"].identity, None, 16_500, with_id=False, open_id=tx.id)
    session.expire_all()
    assert session.get(Transaction, tx.id).after_close_wh == 1_500
    session.get(Transaction, tx.id).after_close_last_at = None
    session.commit()
    assert after_close.still_reported(session) == []
    later = utcnow() + timedelta(seconds=2)
    ocpp_ingest.status_notification(session, s["cp"].identity, connector_id=1, status="Charging",
                                     error_code="NoError", info=None, vendor_error_code=None,
                                     timestamp=later, now=later)
    session.commit()
    session.expire_all()
    assert session.get(Transaction, tx.id).after_close_last_at is not None
    assert [t.id for t in after_close.still_reported(session)] == [tx.id]


# --- two texts: the resident never sees the internal reason ------------------------------------------------

def test_the_resident_is_told_the_chosen_reason_in_their_language_never_the_internal_one(
        client, login, session, hand_closed):
    s, tx = hand_closed, hand_closed["tx"]
    login(client, s["resident"])
    pages = [client.get(f"/sessions/{tx.id}").get_data(as_text=True), client.get("/history").get_data(as_text=True),
             client.get("/history.csv").get_data(as_text=True)]
    assert all(INTERNAL not in page for page in pages)
    assert "The charger did not report the end of the session." in pages[0] and 'data-reason="charger_no_stop"' in pages[0]
    assert "The charger did not report the end of the session." in pages[1]
    client.set_cookie("lang", "nb")
    nb = client.get(f"/sessions/{tx.id}").get_data(as_text=True)
    assert INTERNAL not in nb and "The charger did not report the end of the session." not in nb
    client.set_cookie("lang", "sv")
    assert INTERNAL not in client.get(f"/sessions/{tx.id}").get_data(as_text=True)

    login(client, s["board"])
    month = tx.started_at.astimezone(ZoneInfo(s["site"].timezone)).strftime("%Y-%m")
    slug = s["site"].slug
    for url in (f"/manage/{slug}/reports?month={month}", f"/manage/{slug}/reports.csv?month={month}",
                f"/manage/{slug}/audit"):
        assert INTERNAL not in client.get(url).get_data(as_text=True), url


def test_a_zero_receipt_says_why(client, login, session, running):
    s, tx = running, running["tx"]
    s["cp"].online = False
    session.commit()
    _hand_close(session, s, billed=False, resident_reason="our_fault")
    login(client, s["resident"])
    receipt = client.get(f"/sessions/{tx.id}").get_data(as_text=True)
    assert 'data-testid="receipt-total" data-minor="0"' in receipt
    assert "not billed" in receipt and "A fault on our side. You are not billed for it." in receipt
    assert INTERNAL not in receipt


def test_a_closure_needs_a_reason_for_the_resident(session, running):
    s = running
    s["cp"].online = False
    session.commit()
    with pytest.raises(stuck.CloseRefused) as refused:
        _hand_close(session, s, resident_reason="")
    assert refused.value.code == "resident_reason_required"
