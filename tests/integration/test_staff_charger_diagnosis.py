"""The staff charger page as a diagnosis: the live session's energy is the resident's figure, the message log
pages 50 rows with the payload folded, every row says what it means, and the page stays small."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from portal.db import utcnow
from portal.models import OcppMessage, Transaction
from portal.services.charging import sessions
from tests.factories import make_user, resident_with_access

HX = {"HX-Request": "true"}


@pytest.fixture
def staff(session, client, login):
    site, resident, cp = resident_with_access(session)
    support = make_user(session, "support@diagnosis.test", staff_role="support")
    session.commit()
    login(client, support)
    return {"site": site, "resident": resident, "cp": cp, "support": support}


def _log(session, identity, direction, frame, action=None, mtype=2, uid="u1", minutes_ago=0.0):
    session.add(OcppMessage(identity=identity, direction=direction, frame=frame, action=action, message_type=mtype,
                            unique_id=uid, created_at=utcnow() - timedelta(minutes=minutes_ago)))


def test_live_session_energy_is_the_figure_the_resident_sees(client, session, staff):
    cp, resident = staff["cp"], staff["resident"]
    tx = Transaction(charge_point_id=cp.id, connector_id=1, id_tag="T1", status="active", start_key="k-live",
                     user_id=resident.id, meter_start_wh=1000, meter_last_wh=1240,
                     started_at=utcnow() - timedelta(minutes=10))
    session.add(tx)
    session.commit()
    resident_figure = sessions.live_figures(session, tx).energy_wh
    assert resident_figure == 240
    page = client.get(f"/staff/chargers/{cp.identity}").get_data(as_text=True)
    row = re.search(rf'<tr data-session="{tx.id}".*?</tr>', page, re.S).group(0)
    assert 'data-wh="240"' in row and "0.24 kWh" in row
    client.set_cookie("lang", "nb")
    live = client.get(f"/staff/chargers/{cp.identity}", headers=HX).get_data(as_text=True)  # the 5-second poll
    assert live.lstrip().startswith('<section id="charger-live"')
    assert f'data-testid="live-energy-1" data-wh="240">#{tx.id} · 0,24 kWh' in live


def _meter_frame(uid: str, wh: int) -> str:
    return json.dumps([2, uid, "MeterValues", {"connectorId": 1, "transactionId": 7, "meterValue": [{
        "timestamp": "2026-12-07T10:00:00+00:00", "sampledValue": [
            {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"},
            {"value": "230.1", "measurand": "Voltage", "phase": "L1-N", "unit": "V"},
            {"value": "16.0", "measurand": "Current.Import", "phase": "L1", "unit": "A"}]}]}],
        separators=(",", ":"))


def _many(session, identity: str, count: int) -> None:
    rows = []
    for n in range(count):
        uid = f"m{n}"
        rows.append(dict(identity=identity, direction="in", frame=_meter_frame(uid, 1000 + n), action="MeterValues",
                         message_type=2, unique_id=uid, created_at=utcnow() - timedelta(seconds=count - n)))
        if n % 2:
            rows.append(dict(identity=identity, direction="out", frame=f'[3,"{uid}",{{}}]', action=None,
                             message_type=3, unique_id=uid, created_at=utcnow() - timedelta(seconds=count - n)))
    session.execute(OcppMessage.__table__.insert(), rows)
    session.commit()


def test_message_log_pages_fifty_rows_and_keeps_the_filters(client, session, staff):
    cp = staff["cp"]
    _many(session, cp.identity, 120)
    _log(session, cp.identity, "in", '[2,"h1","Heartbeat",{}]', "Heartbeat", uid="h1", minutes_ago=60)
    session.commit()
    first = client.get(f"/staff/chargers/{cp.identity}", headers=HX, query_string={
        "part": "log", "action": "MeterValues", "direction": "in"}).get_data(as_text=True)
    assert 'data-count="50"' in first and 'data-page="1"' in first and "log-newer" not in first
    older = re.search(r'data-testid="log-older" hx-get="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "action=MeterValues" in older and "direction=in" in older and "page=2" in older
    last = client.get(older.replace("page=2", "page=3"), headers=HX).get_data(as_text=True)
    assert 'data-count="20"' in last and "log-older" not in last and "log-newer" in last
    assert 'data-action="Heartbeat"' not in last and last.count('data-action="MeterValues"') == 20
    everything = client.get(f"/staff/chargers/{cp.identity}", query_string={"part": "log", "page": "4"},
                            headers=HX).get_data(as_text=True)
    assert 'data-count="31"' in everything and 'data-action="Heartbeat"' in everything  # 180 in, 1 heartbeat
    assert 'data-count="0"' in client.get(f"/staff/chargers/{cp.identity}", query_string={
        "part": "log", "page": "99"}, headers=HX).get_data(as_text=True)


def test_each_row_is_one_folded_line_and_the_payload_opens_pretty(client, session, staff):
    cp = staff["cp"]
    _log(session, cp.identity, "in", _meter_frame("mv1", 12345), "MeterValues", uid="mv1")
    _log(session, cp.identity, "out", '[2,"k1","ChangeConfiguration",{"key":"AuthorizationKey","value":"s3cret-key"}]',
         "ChangeConfiguration", uid="k1")
    session.commit()
    page = client.get(f"/staff/chargers/{cp.identity}").get_data(as_text=True)
    row = re.search(r'<li data-action="MeterValues".*?</li>', page, re.S).group(0)
    assert "<details" in row and "<summary>" in row and "toggle once" in row
    assert "Outlet 1: the meter reads 12.35 kWh, drawing 7.20 kW." in row
    assert "Meter reading" in row and "s3cret-key" not in page
    mv = session.query(OcppMessage).filter_by(unique_id="mv1").one()
    payload = client.get(f"/staff/chargers/{cp.identity}", query_string={"message": mv.id}, headers=HX)
    body = payload.get_data(as_text=True)
    assert payload.status_code == 200 and body.startswith('<pre class="payload-full"')
    assert '\n  &#34;mv1&#34;,' in body and "&#34;Energy.Active.Import.Register&#34;" in body
    key = session.query(OcppMessage).filter_by(unique_id="k1").one()
    full = client.get(f"/staff/chargers/{cp.identity}", query_string={"message": key.id}).get_data(as_text=True)
    assert "<h2>Change a setting" in full and "s3cret-key" not in full
    assert client.get("/staff/chargers/NOPE-1", query_string={"message": mv.id}).status_code == 404
    assert client.get(f"/staff/chargers/{cp.identity}", query_string={"message": "12x"}).status_code == 404
    assert client.get(f"/staff/chargers/{cp.identity}", query_string={"message": str(10**30)}).status_code == 404


def test_the_page_of_a_charger_with_2000_logged_messages_stays_under_200_kb(client, session, staff):
    cp = staff["cp"]
    _many(session, cp.identity, 1334)  # 1,334 calls and 667 answers
    for n in range(20):
        session.add(Transaction(charge_point_id=cp.id, connector_id=1, id_tag=f"T{n}", status="completed",
                                start_key=f"k-{n}", meter_start_wh=0, meter_stop_wh=5000, energy_wh=5000,
                                started_at=utcnow() - timedelta(days=n + 1), stopped_at=utcnow() - timedelta(days=n)))
    session.commit()
    assert session.query(OcppMessage).filter_by(identity=cp.identity).count() >= 2000
    for lang in ("nb", "sv", "en"):
        client.set_cookie("lang", lang)
        body = client.get(f"/staff/chargers/{cp.identity}").get_data()
        assert len(body) < 200_000, (lang, len(body))
        print(f"staff charger page, {lang}: {len(body)} bytes")
        assert body.count(b"data-message=") == 50
