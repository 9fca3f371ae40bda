"""Personal data: the board report names only the site's own residents, a neighbour never sees a
personal charger's live status, and a removed member can still end their own subscriptions."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

from sqlalchemy import select

from portal.models import Transaction, UserSubscription
from tests.factories import make_charge_point, make_plan, make_site, make_user, standard_setup, subscribe

HX = {"HX-Request": "true"}


def _tx(session, cp, user, day: int, wh: int, cost: int):
    start = datetime(2024, 5, day, 12, tzinfo=timezone.utc)
    session.add(Transaction(charge_point_id=cp.id, connector_id=1, id_tag="T", user_id=user.id if user else None,
                            status="completed", start_key=f"p-{cp.id}-{day}-{wh}", meter_start_wh=1,
                            meter_stop_wh=1 + wh, started_at=start, stopped_at=start, energy_wh=wh,
                            cost_minor=cost))


def test_the_board_report_names_residents_and_shows_guests_only_as_guest(client, login, session):
    site = make_site(session, "eik")
    board = make_user(session, "board@eik.test", site=site, role="board")
    resident = make_user(session, "ada@eik.test", site=site, name="Ada Resident")
    visitor = make_user(session, "visitor@elsewhere.test", name="Vera Visitor")
    cp = make_charge_point(session, site, "CP-EIK-1", cp_type="public")
    _tx(session, cp, resident, 1, 10_000, 3200)
    _tx(session, cp, visitor, 2, 4_000, 1500)
    _tx(session, cp, None, 3, 1_000, 500)  # a card without an account
    session.commit()
    login(client, board)
    page = client.get("/manage/eik/reports?month=2024-05").get_data(as_text=True)
    assert "Ada Resident" in page and "ada@eik.test" in page
    assert "Vera" not in page and "visitor@elsewhere.test" not in page
    assert 'data-testid="report-guest-row" data-sessions="2" data-energy-wh="5000" data-cost-minor="2000"' in page
    rows = list(csv.reader(io.StringIO(client.get("/manage/eik/reports.csv?month=2024-05").get_data(as_text=True)),
                           delimiter=";"))
    assert rows[1][1:4] == ["ada@eik.test", "Ada Resident", "1"]
    assert rows[2][1:4] == ["", "guest", "2"]
    assert "visitor" not in str(rows).lower()


def _personal(session):
    site = make_site(session, "lia")
    group, _plan = standard_setup(session, site)
    owner = make_user(session, site=site)
    neighbour = make_user(session, site=site)
    cp = make_charge_point(session, site, "CP-HOME-1", group=group, cp_type="personal", owner_id=owner.id,
                           status="Charging")
    session.commit()
    return owner, neighbour, cp


def test_a_neighbour_never_sees_a_personal_chargers_live_status(client, login, session):
    owner, neighbour, cp = _personal(session)
    login(client, neighbour)
    for headers in ({}, HX):
        body = client.get(f"/c/{cp.identity}", headers=headers).get_data(as_text=True)
        assert 'data-testid="outlet"' not in body and "data-state=" not in body
        assert "every 1s" not in body
    page = client.get(f"/c/{cp.identity}").get_data(as_text=True)
    assert 'data-reason="personal_not_owner"' in page
    login(client, owner)
    assert 'data-testid="outlet"' in client.get(f"/c/{cp.identity}").get_data(as_text=True)


def test_a_removed_member_can_still_end_their_own_subscriptions(client, login, session):
    site = make_site(session, "ask", name="Ask borettslag")
    board = make_user(session, site=site, role="board")
    leaver = make_user(session, site=site)
    plan = make_plan(session, site, "Residents of Ask")
    subscribe(session, leaver, plan)
    session.commit()
    login(client, board)
    assert client.post(f"/manage/ask/members/{leaver.id}/remove").status_code in (200, 204, 303)
    login(client, leaver)
    page = client.get("/subscriptions").get_data(as_text=True)
    assert "Residents of Ask" in page and 'data-testid="former-site"' in page
    assert 'data-testid="plan-activate"' not in page
    response = client.post(f"/subscriptions/{plan.id}/deactivate", headers=HX)
    assert response.status_code == 200
    session.expire_all()
    assert session.scalar(select(UserSubscription.status).where(UserSubscription.user_id == leaver.id)) == "ended"
    assert client.post(f"/subscriptions/{plan.id}/activate").status_code == 404  # no new ones without access
    assert "Residents of Ask" not in client.get("/subscriptions").get_data(as_text=True)
