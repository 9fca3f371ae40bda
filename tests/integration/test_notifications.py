"""Notification e-mails (finished session, charger stopped it, start never began) and their opt-outs."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from portal.db import utcnow
from portal.models import ActionRequest, Notification, OutboxEmail, Transaction, User
from portal.services.people import notify
from tests.factories import make_charge_point, make_site, make_user


def _tx(session, cp, user, reason: str, minutes_ago: int = 5, **fields) -> Transaction:
    stopped = utcnow() - timedelta(minutes=minutes_ago)
    tx = Transaction(charge_point_id=cp.id, connector_id=1, id_tag="T", user_id=user.id, status="completed",
                     start_key=f"k-{reason}-{minutes_ago}-{user.id}", meter_start_wh=0, meter_stop_wh=4200,
                     started_at=stopped - timedelta(hours=1), stopped_at=stopped, energy_wh=4200,
                     cost_minor=1344, vat_minor=269, stop_reason=reason, energy_fee="3.20", **fields)
    session.add(tx)
    session.flush()
    return tx


def _mails(db) -> list[OutboxEmail]:
    with db.session() as s:
        return list(s.scalars(select(OutboxEmail).order_by(OutboxEmail.id)))


def test_each_kind_is_sent_once_in_the_users_language(app, db, session):
    site = make_site(session)
    cp = make_charge_point(session, site, name="Garage 4")
    kari = make_user(session, "kari@example.test", site=site, language="nb")
    eva = make_user(session, "eva@example.test", site=site, language="sv")
    done = _tx(session, cp, kari, "Local")
    cut = _tx(session, cp, eva, "PowerLoss", minutes_ago=3)
    _tx(session, cp, kari, "Local", minutes_ago=60 * 24 * 5)  # too old: never mailed
    _tx(session, cp, kari, "DeAuthorized", minutes_ago=2, access_decision="no_access", billable=False)
    start = ActionRequest(charge_point_id=cp.id, connector_id=1, action="RemoteStartTransaction", payload={},
                          state="accepted", requested_by_id=kari.id, no_start_flag=True)
    session.add(start)
    session.commit()
    with app.app_context():
        with db.session() as s:
            ids = notify.send_pending(s)
            s.commit()
            assert notify.send_pending(s) == []  # a second run sends nothing
    assert len(ids) == 3
    by_kind = {m.kind: m for m in _mails(db)}
    assert set(by_kind) == {"session_done", "session_stopped", "start_failed"}
    assert by_kind["session_done"].to_address == "kari@example.test"
    assert "Kvittering" in by_kind["session_done"].subject and f"/sessions/{done.id}" in by_kind["session_done"].body_text
    assert "Pris per kWh: 3,20 kr/kWh" in by_kind["session_done"].body_text
    stopped = by_kind["session_stopped"]
    assert stopped.language == "sv" and "ström" in stopped.body_text.lower()  # the power cut, in plain Swedish
    assert f"/sessions/{cut.id}" in stopped.body_text
    assert "kabelen" in by_kind["start_failed"].body_text  # check the cable, in bokmål


def test_a_notification_turned_off_is_not_sent_nor_reconsidered(app, db, session):
    site = make_site(session)
    cp = make_charge_point(session, site)
    user = make_user(session, site=site)
    user.notify_session_done = False
    tx = _tx(session, cp, user, "Remote")
    session.commit()
    with app.app_context():
        with db.session() as s:
            assert notify.send_pending(s) == []
            s.commit()
    assert _mails(db) == []
    with db.session() as s:
        note = s.scalar(select(Notification).where(Notification.ref_id == tx.id))
        assert note.kind == "session_done" and note.outbox_id is None


def test_account_page_turns_notifications_off_and_on(client, login, session, db):
    user = make_user(session)
    session.commit()
    login(client, user)
    page = client.get("/account").get_data(as_text=True)
    assert page.count('role="switch"') == 4 and page.count("checked") == 4
    response = client.post("/account/notifications", headers={"HX-Request": "true"},
                           data={"notify-session_done": "y", "notify-start_failed": "y"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-testid="notify-saved"' in body and body.count("checked") == 2
    with db.session() as s:
        u = s.get(User, user.id)
        assert (u.notify_session_done, u.notify_session_stopped, u.notify_start_failed, u.notify_statement) == (
            True, False, True, False)


def test_notifications_form_needs_csrf(raw_client, login, session, db):
    user = make_user(session)
    session.commit()
    login(raw_client, user)
    assert raw_client.post("/account/notifications", data={}).status_code == 400
    with db.session() as s:
        assert s.get(User, user.id).notify_statement is True


def test_stop_reasons_in_plain_kinds():
    tx = Transaction(stop_reason="EVDisconnected")
    assert notify.session_kind(tx) == "session_done"
    for reason in ("PowerLoss", "EmergencyStop", "HardReset", "Other", "Abandoned"):
        assert notify.session_kind(Transaction(stop_reason=reason)) == "session_stopped"
    assert datetime.now(timezone.utc) - notify.LOOKBACK < datetime.now(timezone.utc)
