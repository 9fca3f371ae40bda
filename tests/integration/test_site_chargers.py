"""Chargers: live list, edit, owners of personal chargers, Enabled/Disabled through the worker, reports."""
import csv
import io
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from portal.models import AuditEntry, ChargePoint, Invite, Transaction
from portal.services.sites import site_admin
from tests.factories import make_charge_point, make_group, make_site, make_user

HX = {"HX-Request": "true"}


@pytest.fixture
def board(session, client, login):
    site = make_site(session, "eik")
    user = make_user(session, "board@eik.test", site=site, role="board")
    cp = make_charge_point(session, site, "CP-EIK-1", connectors=2)
    session.commit()
    login(client, user)
    return site, user, cp


@pytest.fixture
def recorded_actions(db, redis_url):
    """What the real actions service recorded: (identity, payload type) per request row, and the queued jobs.

    No worker runs here; the stack test drives the same path through a simulated charger."""
    from redis import Redis
    from rq import Queue

    from portal.models import ActionRequest
    from portal import settings

    class Recorded(list):
        def refresh(self):
            self.clear()
            with db.session() as s:
                for row in s.scalars(select(ActionRequest).order_by(ActionRequest.id)):
                    self.append(("request", row.charge_point.identity, row.payload["type"] == "Operative"))
            queue = Queue(settings.CHARGER_QUEUE, connection=Redis.from_url(redis_url))
            self.jobs = [job for job in queue.get_jobs() if job.func_name.endswith("run_action")]
            return self

    queue = Queue(settings.CHARGER_QUEUE, connection=Redis.from_url(redis_url))
    queue.empty()  # jobs other tests left (the access audit starts charging as a resident) are not ours
    recorded = Recorded()
    Queue(settings.CHARGER_QUEUE, connection=Redis.from_url(redis_url)).empty()  # jobs earlier tests left behind
    yield recorded
    queue.empty()


def form(**overrides):
    data = {"name": "Garage 1", "status": "enabled", "cp_type": "private", "tariff_group_id": "0", "owner_email": ""}
    data.update(overrides)
    return data


def test_list_shows_live_status_and_refreshes_as_a_fragment(client, board):
    site, _, cp = board
    page = client.get("/manage/eik/chargers").get_data(as_text=True)
    assert 'data-identity="CP-EIK-1" data-online="true" data-enabled="true"' in page
    assert 'hx-trigger="every 15s"' in page
    fragment = client.get("/manage/eik/chargers", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="charger-table"') and "Available" in fragment


def test_disable_asks_the_charger_after_commit_and_audits(client, board, db, recorded_actions):
    site, user, cp = board
    response = client.post(f"/manage/eik/chargers/{cp.id}", data=form(status="disabled"))
    assert response.status_code == 303
    recorded_actions.refresh()
    assert recorded_actions == [("request", "CP-EIK-1", False)] and len(recorded_actions.jobs) == 1
    with db.session() as s:
        assert s.get(ChargePoint, cp.id).enabled is False
        entry = s.scalar(select(AuditEntry).where(AuditEntry.entity == "charge_point"))
        assert (entry.before["enabled"], entry.after["enabled"], entry.actor_id) == (True, False, user.id)
    page = client.get(f"/manage/eik/chargers/{cp.id}").get_data(as_text=True)
    assert 'data-testid="availability-action" data-state="queued"' in page
    # saving again without a change of status sends nothing
    client.post(f"/manage/eik/chargers/{cp.id}", data=form(status="disabled", name="Renamed"))
    assert len(recorded_actions.refresh()) == 1 and len(recorded_actions.jobs) == 1


def test_invalid_edit_is_refused_with_input_kept(client, board, db, recorded_actions):
    site, _, cp = board
    response = client.post(f"/manage/eik/chargers/{cp.id}", data=form(cp_type="spaceship", name="Kept"), headers=HX)
    assert response.status_code == 422 and 'value="Kept"' in response.get_data(as_text=True)
    assert recorded_actions.refresh() == [] and recorded_actions.jobs == []


def test_tariff_group_of_another_site_is_refused(client, board, session, db, recorded_actions):
    site, _, cp = board
    foreign = make_group(session, make_site(session), [])
    own = make_group(session, site, [])
    session.commit()
    assert client.post(f"/manage/eik/chargers/{cp.id}", data=form(tariff_group_id=str(foreign.id))).status_code == 422
    assert client.post(f"/manage/eik/chargers/{cp.id}", data=form(tariff_group_id=str(own.id))).status_code == 303
    with db.session() as s:
        assert s.get(ChargePoint, cp.id).tariff_group_id == own.id


def test_owner_rules_for_personal_chargers(client, board, session, db, recorded_actions):
    site, _, cp = board
    elsewhere = make_site(session)
    accepted = make_user(session, "owner@eik.test", site=site)
    session.add(Invite(site_id=site.id, email="owner@eik.test", token_hash="o" * 64, status="accepted",
                       accepted_user_id=accepted.id))
    make_user(session, "stranger@eik.test", site=elsewhere)
    session.add(Invite(site_id=site.id, email="pending@eik.test", token_hash="p" * 64, status="pending"))
    make_user(session, "pending@eik.test")
    session.commit()
    url = f"/manage/eik/chargers/{cp.id}"
    cases = [
        (form(cp_type="private", owner_email="owner@eik.test"), "Only a personal (home) charger has an owner"),
        (form(cp_type="personal", owner_email="ghost@eik.test"), "Nobody has an account"),
        (form(cp_type="personal", owner_email="stranger@eik.test"), "must accept an invite"),
        (form(cp_type="personal", owner_email="pending@eik.test"), "must accept an invite"),
        (form(cp_type="personal", owner_email="not an email"), "valid e-mail"),
    ]
    for data, message in cases:
        response = client.post(url, data=data, headers=HX)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True)
        assert f'value="{data["owner_email"]}"' in response.get_data(as_text=True)
    with db.session() as s:
        assert s.get(ChargePoint, cp.id).owner_id is None
    assert client.post(url, data=form(cp_type="personal", owner_email="Owner@Eik.test")).status_code == 303
    with db.session() as s:
        assert (s.get(ChargePoint, cp.id).cp_type, s.get(ChargePoint, cp.id).owner_id) == ("personal", accepted.id)
    assert 'value="owner@eik.test"' in client.get(url).get_data(as_text=True)
    assert client.post(url, data=form(cp_type="personal", owner_email="")).status_code == 303
    with db.session() as s:
        assert s.get(ChargePoint, cp.id).owner_id is None


def test_monthly_report_on_screen_and_as_csv(client, board, session):
    site, _, cp = board
    ada = make_user(session, "ada@eik.test", site=site, name="Ada")
    bo = make_user(session, "bo@eik.test", site=site)
    other_cp = make_charge_point(session, make_site(session), "CP-OTHER")

    def tx(user, cp_, day, wh, cost, month=5, refused=None):
        start = datetime(2024, month, day, 12, tzinfo=timezone.utc)
        session.add(Transaction(charge_point_id=cp_.id, connector_id=1, id_tag="T", user_id=user.id,
                                status="completed", start_key=f"k{cp_.id}-{user.id}-{month}-{day}-{wh}",
                                meter_start_wh=1, meter_stop_wh=1 + wh, started_at=start, stopped_at=start,
                                energy_wh=wh, cost_minor=cost, access_decision=refused or "ok",
                                billable=refused is None))
    tx(ada, cp, 1, 10_000, 3200)
    tx(ada, cp, 20, 5_500, 1760)
    tx(bo, cp, 3, 2_000, 640)
    tx(bo, cp, 4, 0, 0, refused="no_access")
    tx(bo, cp, 5, 9_000, 9999, month=6)  # another month
    tx(bo, other_cp, 6, 9_000, 9999)  # another site
    session.commit()
    page = client.get("/manage/eik/reports?month=2024-05").get_data(as_text=True)
    assert f'data-user-id="{ada.id}" data-energy-wh="15500" data-cost-minor="4960"' in page
    assert f'data-user-id="{bo.id}" data-energy-wh="2000" data-cost-minor="640"' in page
    response = client.get("/manage/eik/reports.csv?month=2024-05")
    assert response.mimetype == "text/csv" and "eik-2024-05.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True)), delimiter=";"))
    assert rows[0][:4] == ["month", "email", "name", "sessions"]
    assert rows[1] == ["2024-05", "ada@eik.test", "Ada", "2", "15,500", "49,60", "0,00", "49,60"]
    assert rows[2] == ["2024-05", "bo@eik.test", "", "1", "2,000", "6,40", "0,00", "6,40"]


def test_report_month_uses_the_site_time_zone(session):
    site = make_site(session, timezone="Europe/Oslo")
    start, end = site_admin.month_bounds(2024, 12, site.timezone)
    assert start.utcoffset().total_seconds() == 3600 and (end.year, end.month) == (2025, 1)


def test_disable_while_redis_is_down_keeps_the_request_and_says_so(app_config, db, session, login):
    """The change is saved and the request row kept (queued, retryable); the page explains, never a 500."""
    from portal import create_app
    from portal.models import ActionRequest
    from tests.conftest import browser_like_client

    site = make_site(session, "eik")
    user = make_user(session, "board@eik.test", site=site, role="board")
    cp = make_charge_point(session, site, "CP-EIK-1")
    session.commit()
    app = create_app({**app_config, "REDIS_URL": "redis://127.0.0.1:1/0"})
    client = browser_like_client(app)
    login(client, user)
    response = client.post(f"/manage/eik/chargers/{cp.id}", data=form(status="disabled"), follow_redirects=True)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "could not be sent the new status right now" in body, body[body.find("<main"):body.find("<main") + 800]
    with db.session() as s:
        assert s.get(ChargePoint, cp.id).enabled is False
        assert s.scalar(select(ActionRequest.state).where(ActionRequest.charge_point_id == cp.id)) == "queued"
