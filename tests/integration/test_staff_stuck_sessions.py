"""Closing a stuck session: billed or not billed, shown on the receipt and the board's report as closed by
support, never closed or billed twice, and a late StopTransaction kept for review."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.db import utcnow
from portal.models import AuditEntry, MeterValue, OrphanStop, Transaction
from portal.services import ocpp_ingest
from portal.services.staff import stuck
from tests.factories import make_user, resident_with_access

HX = {"HX-Request": "true"}


@pytest.fixture
def stuck_session(session):
    site, resident, cp = resident_with_access(session, fee="2.00")
    cp.online = False  # a stuck session: the charger cannot be asked to stop it (see test_charger_asked_first)
    board = make_user(session, "board@stuck.test", site=site, role="board")
    support = make_user(session, "support@stuck.test", staff_role="support")
    started = utcnow() - timedelta(hours=30)
    tx = Transaction(charge_point_id=cp.id, connector_id=1, id_tag="VTAG", user_id=resident.id, status="active",
                     start_key="stuck-1", meter_start_wh=10_000, started_at=started, tariff_name="Residents",
                     energy_fee=Decimal("2.00"), min_price_minor=5000, currency="NOK", vat_rate_bp=2500,
                     created_at=started)
    session.add(tx)
    session.flush()
    session.add(MeterValue(charge_point_id=cp.id, connector_id=1, transaction_id=tx.id, value=Decimal(22_000),
                           timestamp=started + timedelta(hours=3), received_at=started + timedelta(hours=3)))
    tx.meter_last_wh = 22_000
    session.commit()
    return {"tx": tx, "cp": cp, "site": site, "resident": resident, "support": support, "board": board}


def _close(client, tx_id, **data):
    data.setdefault("resident_reason", "charger_no_stop")
    return client.post(f"/staff/sessions/{tx_id}/close", data=data, headers=HX)


def test_not_billed_closure_costs_nothing_and_shows_on_receipt_and_report(client, login, session, stuck_session):
    tx, s = stuck_session["tx"], stuck_session
    login(client, s["support"])
    form = client.get(f"/staff/sessions/{tx.id}/close").get_data(as_text=True)
    assert "22000 Wh" in form and "12.00 kWh" in form
    missing = _close(client, tx.id, end_reading="last", billing="not_billed", reason="")
    assert missing.status_code == 422 and "audit log" in missing.get_data(as_text=True)
    confirm = _close(client, tx.id, end_reading="last", billing="not_billed", reason="charger froze")
    assert 'data-step="confirm"' in confirm.get_data(as_text=True)
    session.expire_all()
    assert session.get(Transaction, tx.id).is_active
    done = _close(client, tx.id, end_reading="last", billing="not_billed", reason="charger froze", confirmed="yes")
    assert done.headers["HX-Redirect"] == f"/staff/chargers/{s['cp'].identity}"
    session.expire_all()
    closed = session.get(Transaction, tx.id)
    assert (closed.status, closed.meter_stop_wh, closed.energy_wh, closed.cost_minor, closed.vat_minor) == (
        "completed", 22_000, 12_000, 0, 0)
    assert closed.stop_reason == "ClosedBySupport" and closed.close_note == "charger froze"
    assert closed.closed_by_id == s["support"].id and closed.close_billed is False
    entry = session.scalar(select(AuditEntry).where(AuditEntry.entity == "transaction"))
    assert entry.area == "staff" and entry.reason == "charger froze" and entry.after["billed"] is False

    login(client, s["resident"])
    receipt = client.get(f"/sessions/{tx.id}").get_data(as_text=True)
    assert 'data-testid="receipt-total" data-minor="0"' in receipt
    assert "Ended by our support team" in receipt and "not billed" in receipt
    assert "The charger did not report the end of the session." in receipt
    assert "charger froze" not in receipt  # the internal reason stays internal

    login(client, s["board"])
    month = closed.started_at.astimezone(ZoneInfo(s["site"].timezone)).strftime("%Y-%m")
    report = client.get(f"/manage/{s['site'].slug}/reports", query_string={"month": month}).get_data(as_text=True)
    assert "closed by support: 1" in report


def test_billed_closure_uses_the_metered_energy_and_the_session_price(client, login, session, stuck_session):
    tx = stuck_session["tx"]
    login(client, stuck_session["support"])
    _close(client, tx.id, end_reading="last", billing="billed", reason="resident agreed", confirmed="yes")
    session.expire_all()
    closed = session.get(Transaction, tx.id)
    assert (closed.energy_wh, closed.cost_minor, closed.vat_minor) == (12_000, 5000, 1000)  # minimum 50 kr applies
    assert closed.close_billed is True


def test_no_end_reading_means_no_energy(session, stuck_session):
    s = stuck_session
    tx = stuck.close(session, s["support"], s["tx"], end_reading="none", billed=True, reason="no data",
                     resident_reason="charger_no_stop")
    assert (tx.meter_stop_wh, tx.energy_wh) == (10_000, 0)


def test_closing_twice_or_after_the_charger_stopped_never_bills_twice(client, login, session, stuck_session):
    tx = stuck_session["tx"]
    login(client, stuck_session["support"])
    _close(client, tx.id, end_reading="last", billing="billed", reason="first", confirmed="yes")
    again = _close(client, tx.id, end_reading="none", billing="not_billed", reason="second", confirmed="yes")
    assert again.status_code == 409 and "no longer running" in again.get_data(as_text=True)
    session.expire_all()
    closed = session.get(Transaction, tx.id)
    assert (closed.cost_minor, closed.close_note) == (5000, "first")
    assert session.scalar(select(AuditEntry.id).where(AuditEntry.reason == "second")) is None
    # the charger's own StopTransaction arrives afterwards: kept for review, the bill stays as it was
    ocpp_ingest.stop_transaction(session, stuck_session["cp"].identity, transaction_id=tx.id, meter_stop=30_000,
                                 timestamp=utcnow(), reason="Local", id_tag=None, transaction_data=None,
                                 payload={"transactionId": tx.id}, now=utcnow())
    session.commit()
    session.expire_all()
    closed = session.get(Transaction, tx.id)
    assert (closed.meter_stop_wh, closed.cost_minor, closed.stop_reason) == (22_000, 5000, "ClosedBySupport")
    orphan = session.scalar(select(OrphanStop))
    assert orphan.transaction_id == tx.id and "after support closed" in orphan.note
    login(client, stuck_session["support"])
    assert f'data-orphan="{orphan.id}"' in client.get("/staff").get_data(as_text=True)


def test_a_session_the_charger_stopped_first_cannot_be_closed(session, stuck_session):
    s = stuck_session
    ocpp_ingest.stop_transaction(session, s["cp"].identity, transaction_id=s["tx"].id, meter_stop=23_000,
                                 timestamp=utcnow(), reason="Local", id_tag=None, transaction_data=None,
                                 payload={}, now=utcnow())
    session.commit()
    billed = s["tx"].cost_minor
    with pytest.raises(stuck.CloseRefused) as refused:
        stuck.close(session, s["support"], s["tx"], end_reading="last", billed=False, reason="late",
                    resident_reason="charger_no_stop")
    assert refused.value.code == "not_active"
    session.rollback()
    assert session.get(Transaction, s["tx"].id).cost_minor == billed


def test_residents_and_sales_cannot_close_a_session(client, login, session, stuck_session):
    tx = stuck_session["tx"]
    sales = make_user(session, "sales@stuck.test", staff_role="sales")
    session.commit()
    for user in (stuck_session["resident"], stuck_session["board"], sales):
        login(client, user)
        assert _close(client, tx.id, end_reading="last", billing="not_billed", reason="x",
                      confirmed="yes").status_code == 403
    session.expire_all()
    assert session.get(Transaction, tx.id).is_active
