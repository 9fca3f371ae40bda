"""The spot-price page: today's and tomorrow's prices per area, with missing days flagged."""
from datetime import timedelta
from decimal import Decimal

from portal.services.billing import spot
from tests.factories import make_site, make_user
from tests.support.spot_fixture import SpotFixture
from worker.jobs.spot import import_spot_prices


def test_spot_page_lists_prices_and_flags_missing_days(client, login, session, database_url):
    site = make_site(session, "fjord", price_area="NO5")
    board = make_user(session, site=site, role="board")
    session.commit()
    today = spot.local_today(site.timezone)
    with SpotFixture() as server:
        server.set_day("NO5", today, [Decimal("0.40")] * 24)
        server.set_day("SE3", today, [Decimal("0.30")] * 96, style="generic")
        import_spot_prices(database_url, server.template, areas=["NO5", "SE3"])
    login(client, board)
    page = client.get("/manage/fjord/spot").get_data(as_text=True)
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert f'data-area="NO5" data-day="{today.isoformat()}"\n            data-state="complete"' in page
    assert f'data-area="NO5" data-day="{tomorrow}"\n            data-state="missing"' in page
    assert f'data-area="NO1" data-day="{today.isoformat()}"\n            data-state="missing"' in page
    assert f'data-testid="spot-prices" data-day="{today.isoformat()}"' in page
    assert "0.50 kr/kWh" in page  # 0.40 + 25 % VAT
    assert "No prices for this day yet." in page
    se3 = client.get("/manage/fjord/spot?area=SE3").get_data(as_text=True)
    assert "Prices in SE3" in se3 and se3.count("<tr><td>") == 96
