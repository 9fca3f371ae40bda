"""On a phone: the board opens the cooperative's account, types an electricity bill with a mistake, is told
what is wrong with what it typed kept, corrects it and sees the difference and the break-even price."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from portal.models import Payment
from portal.services.billing import statements
from tests.factories import PASSWORD, make_charge_point, make_site, make_user
from tests.integration.test_payments import OPERATOR, _tx
from tests.support.browser import assert_no_horizontal_scroll, run_axe


@pytest.fixture
def paid_month(session):
    site = make_site(session, "konto-homes", name="Konto borettslag")
    cp = make_charge_point(session, site, "CP-KONTO-1")
    resident = make_user(session, "paid@konto.test", site=site, name="Pia Paid")
    board = make_user(session, "board@konto.test", site=site, role="board", name="Bo Board")
    _tx(session, cp, resident, datetime(2026, 11, 10, 18, tzinfo=timezone.utc), 30_000)  # 10 kWh, 300 kr
    session.commit()
    (st,) = statements.issue(session, site, 2026, 11, OPERATOR)
    session.add(Payment(kind="bank", state="matched", account="86011117947", entry_ref="KONTO-1",
                        booked_on=date(2026, 11, 28), amount_minor=30_000, statement_id=st.id, site_id=site.id))
    session.commit()
    return board


def test_the_board_enters_the_bill_on_a_phone(page, live_server, paid_month):
    page.context.add_cookies([{"name": "lang", "value": "en", "url": live_server}])
    page.goto(f"{live_server}/login?next=/manage/konto-homes/account%3Fmonth%3D2026-11")
    page.locator("input[name=email]").fill(paid_month.email)
    page.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("form[data-testid=login-form] button[type=submit]").click()
    page.get_by_test_id("payout-statement").wait_for()
    assert page.get_by_test_id("payout-paid").get_attribute("data-minor") == "30000"
    assert page.get_by_test_id("payout-amount").get_attribute("data-minor") == "30000"  # no fee set
    assert_no_horizontal_scroll(page)
    assert run_axe(page) == []
    form = page.get_by_test_id("bill-form")
    form.locator("input[name=kwh]").fill("0")
    form.locator("input[name=energy]").fill("150,00")
    form.locator("input[name=grid]").fill("60.00")
    form.locator("input[name=capacity]").fill("40")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "must be more than 0" in page.get_by_test_id("bill-form").inner_text()
    assert page.locator("input[name=energy]").input_value() == "150,00"
    assert run_axe(page) == []
    page.locator("input[name=kwh]").fill("11,2")
    with page.expect_navigation():
        page.get_by_test_id("bill-form").locator("button[type=submit]").click()
    assert page.get_by_test_id("power-cost").get_attribute("data-minor") == "25000"
    assert page.get_by_test_id("power-difference").get_attribute("data-minor") == "5000"
    assert page.get_by_test_id("break-even").get_attribute("data-price") == "25.00"  # 250 kr / 10 kWh
    assert_no_horizontal_scroll(page)
    assert run_axe(page) == []
