"""The demo data's finished work order and the fault behind it: there once after seed-demo run twice, and
the board and support pages show them."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from portal.models import ConnectorStatusChange, User, WorkOrder


def test_seed_demo_has_one_finished_work_order(app, client, login, session):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    orders = list(session.scalars(select(WorkOrder)))
    assert len(orders) == 1 and orders[0].status == "done" and orders[0].ticket_id is not None
    assert session.scalar(select(func.count()).select_from(ConnectorStatusChange)) == 3
    login(client, session.scalar(select(User).where(User.email == "support@demo.test")))
    page = client.get(f"/staff/workorders/{orders[0].id}").get_data(as_text=True)
    assert 'data-status="done"' in page and "Elektro Demo AS" in page
    login(client, session.scalar(select(User).where(User.email == "board@demo.test")))
    faulted = session.scalar(select(ConnectorStatusChange.at).where(ConnectorStatusChange.status == "Faulted"))
    month = faulted.astimezone(ZoneInfo("Europe/Oslo")).strftime("%Y-%m")
    uptime = client.get(f"/manage/solbakken/uptime?month={month}")
    assert uptime.status_code == 200 and 'data-owner="operator"' in uptime.get_data(as_text=True)
