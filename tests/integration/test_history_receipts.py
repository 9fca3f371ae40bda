"""Receipts (number, issuer, effective price incl. spot average and intervals) and history filters, paging, CSV."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from portal.models import Transaction
from portal.services.billing import receipts
from tests.factories import make_charge_point, make_site, make_user
from tests.unit.test_spot_billing import T0, charge, price_hour, spot_setup

UTC = timezone.utc


def test_spot_receipt_shows_the_average_price_and_the_intervals(session, client, login):
    cp, tag = spot_setup(session)
    price_hour(session, 10, "1.00")
    price_hour(session, 11, "2.00")
    tx = charge(session, cp, tag, [(T0.replace(minute=30), 1000), (T0.replace(hour=11), 6000),
                                   (T0.replace(hour=11, minute=30), 11000)])
    session.commit()
    r = receipts.receipt(session, tx)
    # 5 kWh at 1,25 and 5 kWh at 2,50 (incl. VAT): average 1,875 per kWh, matching the 18,75 kr billed.
    assert r.effective_price == Decimal("1.8750")
    assert [(ln.starts_at.hour, ln.energy_wh, ln.unit_price) for ln in r.intervals] == [
        (10, 5000, Decimal("1.2500")), (11, 5000, Decimal("2.5000"))]
    assert r.number == f"K-{tx.id:08d}"
    login(client, tx.user)
    page = client.get(f"/sessions/{tx.id}").get_data(as_text=True)
    assert f'data-testid="receipt-number">K-{tx.id:08d}<' in page
    assert 'data-price="1.8750"' in page and "1.88 kr/kWh" in page
    assert page.count('data-testid="receipt-interval"') == 2
    assert "Ladeportalen AS" in page and "923 609 016" in page and "data-print" in page


def test_standard_receipt_states_its_price(session, client, login):
    site = make_site(session)
    user = make_user(session, site=site)
    cp = make_charge_point(session, site)
    tx = _tx(session, cp, user, datetime(2026, 5, 2, 10, tzinfo=UTC))
    session.commit()
    login(client, user)
    page = client.get(f"/sessions/{tx.id}").get_data(as_text=True)
    assert 'data-price="3.2000"' in page and "receipt-interval" not in page


def _tx(session, cp, user, when, n=0, cost=320) -> Transaction:
    tx = Transaction(charge_point_id=cp.id, connector_id=1, id_tag="T", user_id=user.id, status="completed",
                     start_key=f"h-{cp.id}-{when.isoformat()}-{n}", meter_start_wh=0, meter_stop_wh=1000,
                     started_at=when, stopped_at=when + timedelta(hours=1), energy_wh=1000,
                     energy_fee=Decimal("3.20"), cost_minor=cost, vat_minor=64)
    session.add(tx)
    return tx


def test_history_pages_through_more_than_500_sessions(session, client, login):
    site = make_site(session)
    user = make_user(session, site=site)
    cp = make_charge_point(session, site)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(530):
        _tx(session, cp, user, start + timedelta(hours=3 * i), i)
    session.commit()
    login(client, user)
    first = client.get("/history").get_data(as_text=True)
    assert 'data-count="530"' in first and first.count('data-testid="session-row"') == 50
    assert "Page 1 of 11" in first and 'data-testid="page-next"' in first
    last = client.get("/history?page=11").get_data(as_text=True)
    assert last.count('data-testid="session-row"') == 30 and 'data-testid="page-next"' not in last
    ids = set(re.findall(r'data-session="(\d+)"', first)) | set(re.findall(r'data-session="(\d+)"', last))
    assert len(ids) == 80
    assert client.get("/history?page=999").status_code == 200  # past the end: the last page
    assert client.get("/history?page=abc&month=13-99&site=x").status_code == 200


def test_history_filters_by_month_and_site_and_the_csv_follows(session, client, login):
    home, away = make_site(session, name="Home"), make_site(session, name="Away")
    user = make_user(session, site=home)
    cp_home, cp_away = make_charge_point(session, home), make_charge_point(session, away)
    stranger_site = make_site(session, name="Stranger")
    _tx(session, cp_home, user, datetime(2026, 3, 5, 10, tzinfo=UTC), 1, cost=100)
    _tx(session, cp_home, user, datetime(2026, 4, 5, 10, tzinfo=UTC), 2, cost=200)
    _tx(session, cp_away, user, datetime(2026, 4, 6, 10, tzinfo=UTC), 3, cost=400)
    _tx(session, cp_home, user, datetime(2026, 3, 31, 22, 30, tzinfo=UTC), 4, cost=800)  # 1 April in Oslo
    session.commit()
    login(client, user)
    page = client.get(f"/history?month=2026-04&site={home.id}").get_data(as_text=True)
    assert page.count('data-testid="session-row"') == 2
    assert 'data-minor="1000"' in page  # the month total of the filter: 2,00 + 8,00
    assert f'<option value="{home.id}" selected>' in page and 'value="2026-04" selected' in page
    assert f'href="/history.csv?month=2026-04&amp;site={home.id}"' in page
    rows = list(csv.reader(io.StringIO(client.get(f"/history.csv?month=2026-04&site={home.id}")
                                       .get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert len(rows) == 3 and {r[1] for r in rows[1:]} == {"Home"}
    everything = client.get("/history.csv").get_data(as_text=True)
    assert everything.count("\n") == 5
    # A site the user never charged at is not a filter they can use: ignored, not an error.
    assert client.get(f"/history?site={stranger_site.id}").get_data(as_text=True).count(
        'data-testid="session-row"') == 4
