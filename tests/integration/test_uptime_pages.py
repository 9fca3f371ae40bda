"""Uptime for boards and staff from rows written straight into the record (the writers are another
branch's): the board's month page with its chart and causes, the CSV, staff's ranking and maintenance
planning, and the monthly report e-mailed to each board member in their language (real SMTP)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from portal.models import (
    ActionRequest, ChargerConnectionChange, ConnectorStatusChange, Incident, MaintenanceWindow, Transaction,
)
from tests.factories import make_charge_point, make_site, make_user
from tests.support.mail import run_mail_jobs, text_part

HX = {"HX-Request": "true"}


def utc(day, hour, minute=0, month=11, year=2026):
    return datetime(year, month, day, hour, minute, tzinfo=timezone.utc)


@pytest.fixture
def month(session):
    """November 2026 at an Oslo site: one charger, one connector, faulted 6 h (the grid's fault for 4 h of
    them), 2 h of our maintenance; two first attempts by a resident, one of which delivered energy."""
    site = make_site(session, slug="solvik", name="Solvik Borettslag")
    board_nb = make_user(session, "styret@solvik.test", site=site, role="board", language="nb", name="Kari")
    board_en = make_user(session, "board@solvik.test", site=site, role="board", language="en", name="Ann")
    resident = make_user(session, "beboer@solvik.test", site=site)
    support = make_user(session, "agent@ops.test", staff_role="support")
    cp = make_charge_point(session, site, "CP-SOLVIK", name="=Garage 1")
    other = make_charge_point(session, make_site(session, slug="nordly", name="Nordly Sameie"), "CP-NORDLY")
    rows = [ConnectorStatusChange(charge_point_id=cp.id, connector_id=1, status=s, at=at) for s, at in (
        ("Available", utc(1, 0, month=10)), ("Faulted", utc(10, 20)), ("Available", utc(11, 2)))]
    rows += [ConnectorStatusChange(charge_point_id=other.id, connector_id=1, status="Available", at=utc(1, 0, month=10)),
             ChargerConnectionChange(charge_point_id=cp.id, state="connected", at=utc(1, 0, month=10)),
             Incident(site_id=site.id, charge_point_id=cp.id, scope="charger", cause="faulted", status="resolved",
                      started_at=utc(10, 20), resolved_at=utc(11, 0), downtime_owner="grid"),
             MaintenanceWindow(site_id=site.id, starts_at=utc(20, 8), ends_at=utc(20, 10), reason="Firmware 2.1")]
    session.add_all(rows)
    session.flush()
    ok = Transaction(charge_point_id=cp.id, connector_id=1, id_tag="V1", user_id=resident.id, status="completed",
                     start_key="u1", meter_start_wh=0, meter_stop_wh=5000, energy_wh=5000, started_at=utc(3, 17),
                     stopped_at=utc(3, 19))
    session.add_all([ok, ActionRequest(charge_point_id=cp.id, connector_id=1, action="RemoteStartTransaction",
                                       state="rejected", requested_by_id=resident.id, payload={},
                                       created_at=utc(4, 7))])
    session.commit()
    # period 720 h, maintenance 2 h -> counted 718 h; down 6 h (4 grid, 2 unknown); up 712 h:
    # uptime 712 / 718 = 99.16 %; first attempts 2, 1 delivered energy: 50 %.
    return {"site": site, "board_nb": board_nb, "board_en": board_en, "support": support, "cp": cp}


def test_the_board_sees_the_month_its_causes_and_the_trend(client, login, month):
    login(client, month["board_en"])
    page = client.get("/manage/solvik/uptime?month=2026-11")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-testid="uptime-share">99.16 %' in body
    assert 'data-testid="first-time-success">50.00 %' in body
    assert 'data-owner="grid">The grid: 4.0 hours' in body and 'data-owner="unknown">Not yet known: 2.0 hours' in body
    assert "<svg" in body and body.count('data-testid="uptime-bar"') == 2  # the record begins in October
    assert "Firmware 2.1" in body and "Nordly" not in body
    fragment = client.get("/manage/solvik/uptime?month=2026-10", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="uptime"') and 'data-month="2026-10"' in fragment


def test_the_board_sees_planned_technician_visits_of_its_own_site_only(client, login, session, month):
    from portal.models import WorkOrder

    session.add_all([
        WorkOrder(site_id=month["site"].id, charge_point_id=month["cp"].id, status="scheduled",
                  installer_company="Solvik Elektro", scheduled_for=utc(9, 8, month=12)),
        WorkOrder(site_id=month["site"].id, charge_point_id=month["cp"].id, status="done", installer_company="Old Visit"),
        WorkOrder(site_id=month["site"].id, status="draft", installer_company="Not Sent Yet"),
    ])
    session.commit()
    login(client, month["board_en"])
    visits = client.get("/manage/solvik/uptime").get_data(as_text=True)
    planned = visits[visits.index('data-testid="planned-visits"'):]
    assert "Solvik Elektro" in planned and "Garage 1" in planned
    assert "Old Visit" not in visits and "Not Sent Yet" not in visits


def test_the_csv_has_every_connector_and_no_formula(client, login, month):
    login(client, month["board_en"])
    response = client.get("/manage/solvik/uptime.csv?month=2026-11")
    text = response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/csv")
    lines = text.strip().splitlines()
    assert len(lines) == 4  # header, the site, the charger, its connector
    assert "\"'=Garage 1\"" in text and '"=Garage' not in text
    assert lines[1].startswith('"2026-11";"";"";"";99.164;712.0;6.0;2.0;0.0;0.0;0.0;0.0;4.0;2.0;2;1;50.0')


def test_staff_rank_the_sites_and_plan_maintenance(client, login, session, month):
    login(client, month["support"])
    body = client.get("/staff/uptime?month=2026-11").get_data(as_text=True)
    assert body.index('data-slug="solvik"') < body.index('data-slug="nordly"')  # lowest uptime first
    wrong = client.post("/staff/maintenance", data={"site": "solvik", "charger": "", "starts_at": "2026-12-10T10:00",
                                                    "ends_at": "2026-12-10T09:00", "reason": "New cable"})
    assert wrong.status_code == 422
    text = wrong.get_data(as_text=True)
    assert "The end must come after the start." in text and 'value="New cable"' in text
    unknown = client.post("/staff/maintenance", data={"site": "solvik", "charger": "CP-NORDLY",
                                                      "starts_at": "2026-12-10T08:00", "ends_at": "2026-12-10T09:00",
                                                      "reason": "New cable"})
    assert unknown.status_code == 422  # another site's charger
    done = client.post("/staff/maintenance", data={"site": "solvik", "charger": "CP-SOLVIK",
                                                   "starts_at": "2026-12-10T08:00", "ends_at": "2026-12-10T09:30",
                                                   "reason": "New cable"})
    assert done.status_code == 303
    window = session.scalar(select(MaintenanceWindow).where(MaintenanceWindow.reason == "New cable"))
    assert window.charge_point_id == month["cp"].id
    assert window.starts_at.astimezone(timezone.utc) == utc(10, 7, month=12)  # 08:00 Oslo time
    window_id = window.id
    assert client.post(f"/staff/maintenance/{window_id}/delete").status_code == 303
    session.expire_all()
    assert session.get(MaintenanceWindow, window_id) is None


def test_the_monthly_report_reaches_each_board_member_once_in_their_language(month, smtp, database_url, redis_url):
    from worker.jobs.uptime import monthly_uptime_reports

    first_of_december = utc(1, 5, 45, month=12)
    assert monthly_uptime_reports(database_url, redis_url, now=first_of_december) == 2
    assert monthly_uptime_reports(database_url, redis_url, now=first_of_december) == 0  # safe to run twice
    run_mail_jobs(redis_url)
    mails = {m["To"]: m for m in smtp.wait_for(2)}
    nb, en = mails["styret@solvik.test"], mails["board@solvik.test"]
    assert en["Subject"] == "Uptime at Solvik Borettslag in November 2026: 99.16 %"
    assert "Oppetid" in nb["Subject"] and "99,16 %" in nb["Subject"] and "november 2026" in nb["Subject"]
    body = text_part(en)
    assert "The grid: 4.0 hours" in body and "First-time success: 50.00 %" in body
    assert "/manage/solvik/uptime?month=2026-11" in body
    assert "Strømnettet" in text_part(nb)
