"""Monthly statements: lines, pro-rata fees, VAT, totals equal to the board's report, the cron job, e-mail, pages."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from portal.models import OutboxEmail, Statement, Transaction, UserSubscription
from portal.services.billing import statements
from tests.factories import make_charge_point, make_plan, make_site, make_user

UTC = timezone.utc


def _tx(session, cp, user, when: datetime, wh: int, cost: int, vat: int, **fields) -> Transaction:
    tx = Transaction(charge_point_id=cp.id, connector_id=1, id_tag="T", user_id=user.id if user else None,
                     status="completed", start_key=f"k-{cp.id}-{when.isoformat()}-{wh}", meter_start_wh=1,
                     meter_stop_wh=1 + wh, started_at=when, stopped_at=when, energy_wh=wh, cost_minor=cost,
                     vat_minor=vat, energy_fee="3.2000", **fields)
    session.add(tx)
    session.flush()
    return tx


@pytest.fixture
def month(session):
    """November 2026 at one site: two residents, sessions in and out of the month, pro-rata subscriptions."""
    site = make_site(session, "eik", name="Eik borettslag")
    other_site = make_site(session, "ask")
    ada = make_user(session, "ada@eik.test", site=site, name="Ada", language="sv")
    bo = make_user(session, "bo@eik.test", site=site, name="Bo")
    cp = make_charge_point(session, site, "CP-EIK-1", name="Garage 1")
    other_cp = make_charge_point(session, other_site, "CP-ASK-1")
    plan = make_plan(session, site, "Residents")
    plan.monthly_fee_minor = 29900
    # Ada: all month (started before it). Bo: from 16 Nov local time, ended 26 Nov -> 10 of 30 days.
    session.add(UserSubscription(user_id=ada.id, plan_id=plan.id, started_at=datetime(2026, 9, 3, tzinfo=UTC)))
    session.add(UserSubscription(user_id=bo.id, plan_id=plan.id, status="ended",
                                 started_at=datetime(2026, 11, 15, 23, 30, tzinfo=UTC),  # 16 Nov in Oslo
                                 ended_at=datetime(2026, 11, 26, 8, tzinfo=UTC)))
    _tx(session, cp, ada, datetime(2026, 11, 2, 18, tzinfo=UTC), 10_000, 3200, 640)
    _tx(session, cp, ada, datetime(2026, 11, 30, 23, 30, tzinfo=UTC), 5_000, 1601, 320)  # 1 Dec in Oslo: next month
    _tx(session, cp, ada, datetime(2026, 10, 31, 23, 30, tzinfo=UTC), 7_333, 2347, 469)  # 1 Nov in Oslo: this month
    _tx(session, cp, bo, datetime(2026, 11, 20, 7, tzinfo=UTC), 2_000, 640, 128)
    _tx(session, cp, bo, datetime(2026, 11, 21, 7, tzinfo=UTC), 0, 0, 0, access_decision="no_access", billable=False)
    _tx(session, other_cp, bo, datetime(2026, 11, 22, 7, tzinfo=UTC), 9_000, 9999, 2000)  # another site
    _tx(session, cp, None, datetime(2026, 11, 23, 7, tzinfo=UTC), 1_000, 320, 64)  # a card without an account
    session.commit()
    return site, ada, bo, plan


OPERATOR = statements.Operator("Ladeportalen AS", "923 609 016")


def test_statement_lines_pro_rata_fees_and_vat(session, month):
    site, ada, bo, plan = month
    issued = {st.user_id: st for st in statements.issue(session, site, 2026, 11, OPERATOR)}
    session.commit()
    assert set(issued) == {ada.id, bo.id}  # nobody is billed for the card without an account
    a, b = issued[ada.id], issued[bo.id]
    assert [ln.kind for ln in a.lines] == ["subscription", "session", "session"]
    assert [ln.energy_wh for ln in a.lines if ln.kind == "session"] == [7_333, 10_000]
    assert a.lines[0].amount_minor == 29900 and a.lines[0].days == 30
    assert a.lines[0].vat_minor == 5980  # 25 % VAT inside 299,00
    assert a.total_minor == 29900 + 3200 + 2347 and a.vat_minor == 5980 + 640 + 469
    fee = b.lines[0]
    assert (fee.days, fee.days_in_month) == (10, 30)
    assert fee.amount_minor == 9967  # 299,00 x 10/30 = 99,666... -> 99,67
    assert b.total_minor == 9967 + 640 and b.vat_minor == fee.vat_minor + 128
    # One running sequence for every document of the operator, in issuing order (Ada before Bo).
    assert (a.number, b.number) == ("F-00000001", "F-00000002") and a.operator_org_number == "923 609 016"
    assert (a.kind, a.billed_name, a.billed_email, a.site_name) == ("statement", "Ada", "ada@eik.test", "Eik borettslag")
    # Issuing again adds nothing.
    assert statements.issue(session, site, 2026, 11, OPERATOR) == []


def test_the_board_report_equals_the_statements_to_the_ore(session, month, client, login):
    site, ada, bo, plan = month
    issued = statements.issue(session, site, 2026, 11, OPERATOR)
    session.commit()
    rows = statements.monthly_report(session, site, 2026, 11)
    billed = [r for r in rows if r.user_id is not None]
    assert sum(r.total_minor for r in billed) == sum(st.total_minor for st in issued)
    assert sum(r.vat_minor for r in billed) == sum(st.vat_minor for st in issued)
    assert {r.user_id: r.total_minor for r in billed} == {st.user_id: st.total_minor for st in issued}
    board = make_user(session, "board@eik.test", site=site, role="board")
    session.commit()
    login(client, board)
    page = client.get("/manage/eik/reports?month=2026-11").get_data(as_text=True)
    invoiced = int(re.search(r'data-testid="report-invoiced" data-minor="(\d+)"', page).group(1))
    on_statements = int(re.search(r'data-testid="report-issued" data-minor="(\d+)"', page).group(1))
    assert invoiced == on_statements == sum(st.total_minor for st in issued)


def test_the_monthly_job_issues_and_mails_in_the_residents_language(db, database_url, redis_url, session, month,
                                                                   monkeypatch):
    # The job builds the portal app to render e-mails, and the app refuses to start without a real
    # key (make run and the worker's environment carry one).
    monkeypatch.setenv("SECRET_KEY", "statement-job-test-key-" + "k" * 32)
    site, ada, bo, plan = month
    bo.notify_statement = False
    session.commit()
    from worker.jobs.statements import issue_monthly_statements

    assert issue_monthly_statements(database_url, redis_url, 2026, 11) == {"eik": 2, "ask": 1}
    assert issue_monthly_statements(database_url, redis_url, 2026, 11) == {"eik": 0, "ask": 0}
    with db.session() as s:
        mails = s.scalars(select(OutboxEmail).where(OutboxEmail.kind == "statement")).all()
        assert s.scalar(select(func.count()).select_from(Statement)) == 3
        st = s.scalar(select(Statement).where(Statement.user_id == ada.id))
        assert st.emailed_at is not None
    assert [m.to_address for m in mails] == ["ada@eik.test"]  # Bo turned statement e-mails off
    mail = mails[0]
    assert mail.language == "sv" and "november 2026" in mail.subject
    assert st.number in mail.body_text and "Ladeportalen AS" in mail.body_text
    assert f"/statements/{st.id}" in mail.body_text


def test_statement_pages_are_the_residents_own(session, month, client, login):
    site, ada, bo, plan = month
    issued = {st.user_id: st for st in statements.issue(session, site, 2026, 11, OPERATOR)}
    session.commit()
    login(client, ada)
    listing = client.get("/statements").get_data(as_text=True)
    assert f'data-statement="{issued[ada.id].id}"' in listing and f'data-statement="{issued[bo.id].id}"' not in listing
    page = client.get(f"/statements/{issued[ada.id].id}").get_data(as_text=True)
    assert issued[ada.id].number in page and "923 609 016" in page and "Eik borettslag" in page
    assert f'data-testid="statement-total" data-minor="{issued[ada.id].total_minor}"' in page
    assert page.count('data-testid="statement-line"') == 3
    assert client.get(f"/statements/{issued[bo.id].id}").status_code == 404
    assert client.get("/statements/999999").status_code == 404


def test_previous_month_and_held_days_edges():
    from datetime import date

    assert statements.previous_month(date(2027, 1, 1)) == (2026, 12)
    assert statements.previous_month(date(2026, 3, 1)) == (2026, 2)
    sub = UserSubscription(started_at=datetime(2026, 2, 10, 12, tzinfo=UTC),
                           ended_at=datetime(2026, 2, 10, 13, tzinfo=UTC))
    assert statements.held_days(sub, 2026, 2, "Europe/Oslo") == (1, 28)  # held at all: at least one day
    assert statements.pro_rata(10000, 1, 28) == 357
