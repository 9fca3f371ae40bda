"""Live session fragment, start/stop through the actions service, receipts, history, monthly totals, CSV."""
import csv
import io
import socket
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import select

from portal.models import ActionRequest, MeterValue, Transaction
from portal.services.charging import actions, sessions
from tests.factories import make_user, resident_with_access
from portal import settings

T0 = datetime(2025, 3, 10, 8, 0, tzinfo=timezone.utc)


def make_tx(session, cp, user, *, wh=0, active=True, fee="3.20", started=T0, min_minor=0, **fields):
    tx = Transaction(charge_point_id=cp.id, connector_id=1, id_tag="TAG", user_id=user.id, status="active",
                     start_key=f"k-{cp.id}-{started.isoformat()}-{user.id}", meter_start_wh=1000,
                     started_at=started, tariff_name="Residents", energy_fee=Decimal(fee),
                     min_price_minor=min_minor, currency=cp.site.currency, vat_rate_bp=2500, **fields)
    session.add(tx)
    session.flush()
    if active:
        tx.meter_last_wh = 1000 + wh
    else:
        cost = sessions.session_cost(wh, Decimal(fee), min_minor, 2500)
        tx.status, tx.stopped_at, tx.meter_stop_wh, tx.energy_wh = "completed", started + timedelta(hours=1), 1000 + wh, wh
        tx.cost_minor, tx.vat_minor, tx.stop_key = cost.total_minor, cost.vat_minor, f"s-{tx.id}"
    session.flush()
    return tx


def action(session, cp, user, state="queued", name="RemoteStartTransaction", **fields):
    a = ActionRequest(charge_point_id=cp.id, connector_id=1, action=name, state=state, requested_by_id=user.id,
                      payload=fields.pop("payload", {}), **fields)
    session.add(a)
    session.flush()
    return a


HX = {"HX-Request": "true"}


def test_live_fragment_follows_the_request_and_stops_polling_when_final(client, login, session):
    site, user, cp = resident_with_access(session)
    a = action(session, cp, user, "queued")
    session.commit()
    login(client, user)
    page = client.get(f"/charging/{a.id}")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    for state in ("queued", "sent", "accepted"):
        a.state = state
        session.commit()
        fragment = client.get(f"/charging/{a.id}", headers=HX).get_data(as_text=True)
        assert "<html" not in fragment
        assert f'data-state="{state}"' in fragment and 'hx-trigger="live-poll"' in fragment
        assert 'hx-swap="outerHTML"' in fragment
    a.state = "rejected"
    session.commit()
    fragment = client.get(f"/charging/{a.id}", headers=HX).get_data(as_text=True)
    assert 'data-state="failed"' in fragment and "hx-trigger" not in fragment
    assert "refused" in fragment


def test_live_fragment_shows_charging_figures_and_a_power_chart(client, login, session):
    site, user, cp = resident_with_access(session, fee="3.20")
    now = datetime.now(timezone.utc)
    tx = make_tx(session, cp, user, wh=2500, started=now - timedelta(minutes=20))
    for i, watts in enumerate((7000, 11000, 10500)):
        session.add(MeterValue(charge_point_id=cp.id, connector_id=1, transaction_id=tx.id,
                               timestamp=now - timedelta(minutes=3 - i), measurand="Power.Active.Import",
                               value=Decimal(watts), unit="W"))
    a = action(session, cp, user, "accepted", transaction_id=tx.id)
    session.commit()
    login(client, user)
    fragment = client.get(f"/charging/{a.id}", headers=HX).get_data(as_text=True)
    assert 'data-state="charging"' in fragment
    assert 'data-wh="2500"' in fragment and "2.50 kWh" in fragment
    assert "10.5 kW" in fragment
    assert 'data-minor="800"' in fragment and "8.00 kr" in fragment  # 2.5 kWh × 3.20
    assert 'data-testid="power-chart"' in fragment and "<polyline" in fragment
    assert f'hx-get="/sessions/{tx.id}"' in fragment and 'data-testid="stop-button"' in fragment


def test_finished_session_renders_the_receipt_without_polling(client, login, session):
    site, user, cp = resident_with_access(session, fee="3.20")
    tx = make_tx(session, cp, user, wh=12345, active=False)
    session.commit()
    login(client, user)
    fragment = client.get(f"/sessions/{tx.id}", headers=HX).get_data(as_text=True)
    assert 'data-state="finished"' in fragment and "hx-trigger" not in fragment
    # 12.345 kWh × 3.20 = 39.504 → 39.50 kr; VAT part 39.50 × 0.25 / 1.25 = 7.90
    assert 'data-testid="receipt-total" data-minor="3950"' in fragment and "39.50 kr" in fragment
    assert 'data-testid="receipt-vat" data-minor="790"' in fragment and "7.90 kr" in fragment
    assert "3.20 kr/kWh" in fragment and "Residents" in fragment and "12.35 kWh" in fragment


def test_receipt_with_minimum_price(client, login, session):
    site, user, cp = resident_with_access(session)
    tx = make_tx(session, cp, user, wh=100, active=False, min_minor=500)
    session.commit()
    login(client, user)
    text = client.get(f"/sessions/{tx.id}").get_data(as_text=True)
    assert 'data-testid="receipt-total" data-minor="500"' in text and 'data-minor="100"' in text  # VAT of 5.00


def test_other_users_sessions_and_requests_are_404(client, login, session):
    site, user, cp = resident_with_access(session)
    neighbour = make_user(session, site=site)
    tx = make_tx(session, cp, user, wh=100, active=False)
    a = action(session, cp, user)
    session.commit()
    login(client, neighbour)
    assert client.get(f"/sessions/{tx.id}").status_code == 404
    assert client.get(f"/charging/{a.id}").status_code == 404
    assert client.post(f"/sessions/{tx.id}/stop").status_code == 404
    assert str(tx.id) not in client.get("/history.csv").get_data(as_text=True).splitlines()[-1].split(";")[0].strip('"')


def test_history_monthly_totals_and_csv(client, login, session):
    site, user, cp = resident_with_access(session, fee="2.00")
    make_tx(session, cp, user, wh=10000, active=False, fee="2.00", started=datetime(2025, 1, 5, 10, tzinfo=timezone.utc))
    make_tx(session, cp, user, wh=5000, active=False, fee="2.00", started=datetime(2025, 1, 20, 10, tzinfo=timezone.utc))
    make_tx(session, cp, user, wh=1000, active=False, fee="2.00", started=datetime(2025, 2, 1, 10, tzinfo=timezone.utc))
    # 31 January 23:30 UTC is 1 February in Oslo: counted in February
    make_tx(session, cp, user, wh=500, active=False, fee="2.00", started=datetime(2025, 1, 31, 23, 30, tzinfo=timezone.utc))
    other = make_user(session, site=site)
    make_tx(session, cp, other, wh=99000, active=False, fee="2.00", started=datetime(2025, 1, 6, 10, tzinfo=timezone.utc))
    session.commit()
    login(client, user)
    text = client.get("/history").get_data(as_text=True)
    assert 'data-month="2025-01" data-minor="3000" data-wh="15000"' in text
    assert 'data-month="2025-02" data-minor="300" data-wh="1500"' in text
    assert text.count('data-testid="session-row"') == 4
    csv_response = client.get("/history.csv")
    assert csv_response.headers["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(csv_response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert lines[0][:3] == ["session", "site", "charger"]
    assert len(lines) == 5  # header + own four sessions, never the neighbour's
    assert all("99.000" not in line for line in lines)
    row = next(line for line in lines[1:] if line[6] == "10.000")
    assert row[8:12] == ["2.00", "20.00", "4.00", "NOK"]


def test_csv_in_norwegian_uses_decimal_comma_and_neutralises_formulas(client, login, session):
    site, user, cp = resident_with_access(session)
    cp.name = "=HYPERLINK(\"x\")"
    make_tx(session, cp, user, wh=1500, active=False)
    session.commit()
    login(client, user)
    client.set_cookie("lang", "nb")
    body = client.get("/history.csv").get_data(as_text=True)
    assert ';"1,500";' in body and "'=HYPERLINK" in body and '"=HYPERLINK' not in body


# --- start and stop through the real actions service, enqueued on the test Redis -------------------

def queued_action_ids(redis_url: str) -> list[int]:
    """The request ids of the charger jobs waiting in the real queue (no worker runs in these tests)."""
    with Redis.from_url(redis_url) as conn:
        jobs = Queue(settings.CHARGER_QUEUE, connection=conn).get_jobs()
        return [job.args[0] for job in jobs if job.func_name == actions.RUN_JOB]


@pytest.fixture
def charger_queue(redis_url):
    """The charger queue, empty at the start and at the end of the test."""
    def empty() -> None:
        with Redis.from_url(redis_url) as conn:
            Queue(settings.CHARGER_QUEUE, connection=conn).empty()
    empty()
    yield lambda: queued_action_ids(redis_url)
    empty()


@pytest.fixture
def queue_down(app, redis_url):
    """The app's Redis client points at a port where nothing listens; calling the fixture brings it back."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    app.extensions["portal_redis"] = Redis.from_url(f"redis://127.0.0.1:{dead_port}/0", socket_connect_timeout=1)
    return lambda: app.extensions.__setitem__("portal_redis", Redis.from_url(redis_url))


def test_start_creates_a_request_enqueues_after_commit_and_redirects_to_the_live_page(
        client, login, session, charger_queue):
    site, user, cp = resident_with_access(session)
    session.commit()
    login(client, user)
    response = client.post(f"/c/{cp.identity}/start", data={"connector": "1"})
    assert response.status_code == 303
    [action_id] = charger_queue()
    assert response.headers["Location"].endswith(f"/charging/{action_id}")
    session.expire_all()
    request = session.get(ActionRequest, action_id)
    assert (request.requested_by_id, request.action, request.state) == (user.id, "RemoteStartTransaction", "queued")
    hx = client.post(f"/c/{cp.identity}/start", data={"connector": "1"}, headers=HX)
    assert hx.status_code == 204 and hx.headers["HX-Redirect"] == f"/charging/{action_id}"  # the same request


def test_start_refused_by_the_service_says_why(client, login, session, charger_queue):
    site, user, cp = resident_with_access(session)
    cp.connector(1).status = "Charging"  # someone else's car
    session.commit()
    login(client, user)
    response = client.post(f"/c/{cp.identity}/start", data={"connector": "1"}, headers=HX)
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert 'data-reason="occupied"' in text and "already charging" in text and "<html" not in text
    assert charger_queue() == []
    assert session.scalars(select(ActionRequest)).all() == []


def test_start_with_a_bad_connector_is_422(client, login, session, charger_queue):
    site, user, cp = resident_with_access(session)
    session.commit()
    login(client, user)
    assert client.post(f"/c/{cp.identity}/start", data={"connector": "7"}).status_code == 422
    assert client.post(f"/c/{cp.identity}/start", data={"connector": "x"}).status_code == 422
    assert charger_queue() == [] and session.scalars(select(ActionRequest)).all() == []


def test_queue_unavailable_keeps_the_request_and_offers_retry(client, login, session, charger_queue, queue_down):
    site, user, cp = resident_with_access(session)
    session.commit()
    login(client, user)
    response = client.post(f"/c/{cp.identity}/start", data={"connector": "1"})
    assert response.status_code == 303 and "busy=1" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="busy"' in page and "request is kept" in page
    action_id = int(response.headers["Location"].split("/charging/")[1].split("?")[0])
    assert session.get(ActionRequest, action_id).state == "queued" and charger_queue() == []
    queue_down()  # Redis answers again
    retry = client.post(f"/c/{cp.identity}/retry/{action_id}")
    assert retry.status_code == 303 and charger_queue() == [action_id]


def test_stop_requests_a_remote_stop_and_shows_stopping(client, login, session, charger_queue):
    site, user, cp = resident_with_access(session)
    tx = make_tx(session, cp, user, wh=500, started=datetime.now(timezone.utc) - timedelta(minutes=5))
    session.commit()
    login(client, user)
    fragment = client.post(f"/sessions/{tx.id}/stop", headers=HX).get_data(as_text=True)
    assert 'data-state="stopping"' in fragment and 'data-testid="stop-button"' not in fragment
    stop = session.scalars(select(ActionRequest).where(ActionRequest.action == "RemoteStopTransaction")).one()
    assert stop.payload == {"transactionId": tx.id} and charger_queue() == [stop.id]
    client.post(f"/sessions/{tx.id}/stop", headers=HX)  # a second tap does not send a second stop
    assert charger_queue() == [stop.id]
    assert len(session.scalars(select(ActionRequest)).all()) == 1


def test_a_stop_kept_by_a_busy_queue_can_be_sent_again(client, login, session, charger_queue, queue_down):
    site, user, cp = resident_with_access(session)
    tx = make_tx(session, cp, user, wh=500, started=datetime.now(timezone.utc) - timedelta(minutes=5))
    session.commit()
    login(client, user)
    fragment = client.post(f"/sessions/{tx.id}/stop", headers=HX).get_data(as_text=True)
    assert 'data-testid="problem"' in fragment and "kept" in fragment
    stop = session.scalars(select(ActionRequest).where(ActionRequest.action == "RemoteStopTransaction")).one()
    assert stop.state == "queued" and charger_queue() == []
    stop.created_at = datetime.now(timezone.utc) - timedelta(seconds=30)  # still queued a while later
    session.commit()
    assert 'data-testid="stop-button"' in client.get(f"/sessions/{tx.id}", headers=HX).get_data(as_text=True)
    queue_down()  # Redis answers again
    client.post(f"/sessions/{tx.id}/stop", headers=HX)
    assert charger_queue() == [stop.id]  # the kept request, sent again, not a second one
    assert len(session.scalars(select(ActionRequest)).all()) == 1


def test_spot_tariff_shows_the_current_spot_price(client, login, session):
    from portal.models import SpotPrice
    from tests.factories import make_group, make_plan, make_site, make_tariff, make_user, make_charge_point, subscribe

    site = make_site(session, price_area="NO1")
    plan = make_plan(session, site)
    spot = make_tariff(session, site, name="Spot", pricing_type="spot", fee="0", plans=[plan],
                       spot_markup=Decimal("0.10"), spot_fallback=Decimal("2.00"))
    cp = make_charge_point(session, site, group=make_group(session, site, [spot]))
    user = make_user(session, site=site)
    subscribe(session, user, plan)
    now = datetime.now(timezone.utc)
    session.add(SpotPrice(price_area="NO1", starts_at=now - timedelta(minutes=30), ends_at=now + timedelta(minutes=30),
                          price_per_kwh=Decimal("1.00")))
    session.commit()
    login(client, user)
    text = client.get(f"/c/{cp.identity}").get_data(as_text=True)
    assert "Spot price, now 1.38 kr/kWh" in text  # (1.00 + 0.10) × 1.25 = 1.375 → 1.38
