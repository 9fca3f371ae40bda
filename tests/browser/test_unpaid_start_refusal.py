"""On a phone: a resident whose statement is long unpaid, at a site whose board chose to stop charging then,
is told so in plain words on the start screen, and finds the KID and account on the statement."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from portal.services.billing import statements
from tests.factories import PASSWORD, make_charge_point, make_site, make_user, standard_setup, subscribe
from tests.integration.test_payments import OPERATOR, _tx

IDENTITY = "CP-UNPAID-1"


@pytest.fixture
def overdue_resident(session):
    site = make_site(session, "unpaid-homes", name="Unpaid Homes borettslag")
    group, plan = standard_setup(session, site)
    user = make_user(session, "late@unpaid.test", site=site, name="Late Payer")
    subscribe(session, user, plan)
    cp = make_charge_point(session, site, IDENTITY, group=group, name="Garage U, space 1")
    _tx(session, cp, user, datetime(2026, 9, 10, 18, tzinfo=timezone.utc), 15_000)
    session.commit()
    (st,) = statements.issue(session, site, 2026, 9, OPERATOR)
    st.due_on = datetime.now(timezone.utc).date() - timedelta(days=40)
    site.unpaid_block_days = 30
    session.commit()
    return user, st.id, st.payment_reference


def test_the_start_screen_says_why_in_plain_words(page, live_server, overdue_resident):
    user, statement_id, kid = overdue_resident
    page.context.add_cookies([{"name": "lang", "value": "en", "url": live_server}])
    page.goto(f"{live_server}/login?next=/c/{IDENTITY}")
    page.locator("input[name=email]").fill(user.email)
    page.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("form[data-testid=login-form] button[type=submit]").click()
    refusal = page.get_by_test_id("refusal")
    refusal.wait_for()
    assert refusal.get_attribute("data-reason") == "unpaid"
    assert "the board has decided that charging here waits until it is paid" in refusal.inner_text()
    assert page.get_by_test_id("start-button").count() == 0
    page.goto(f"{live_server}/statements/{statement_id}")
    assert page.get_by_test_id("statement-reference").inner_text() == kid
    assert page.get_by_test_id("statement-account").inner_text() == "8601 11 17947"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
