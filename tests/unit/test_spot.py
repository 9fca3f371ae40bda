"""Spot-price source parsing, URL templates and the import job against a local HTTP fixture."""
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.models import SpotPrice
from portal.services.billing import spot
from tests.support.spot_fixture import SpotFixture, day_prices
from worker.jobs.spot import import_spot_prices

DAY = date(2024, 5, 1)


def test_source_url_fills_every_placeholder():
    url = spot.source_url("https://x.test/{year}/{month}-{day}_{area}.json?d={date}", "SE3", date(2024, 3, 9))
    assert url == "https://x.test/2024/03-09_SE3.json?d=2024-03-09"


def test_parse_hvakosterstrommen_shape_to_utc():
    items = spot.parse_prices(
        '[{"NOK_per_kWh": 0.51234, "EUR_per_kWh": 0.04, "EXR": 11.6,'
        ' "time_start": "2024-05-01T00:00:00+02:00", "time_end": "2024-05-01T01:00:00+02:00"}]')
    assert items == [spot.Interval(datetime(2024, 4, 30, 22, tzinfo=timezone.utc),
                                   datetime(2024, 4, 30, 23, tzinfo=timezone.utc), Decimal("0.51234"))]


def test_parse_generic_start_end_price_and_negative_prices():
    items = spot.parse_prices('[{"start": "2024-05-01T00:15:00Z", "end": "2024-05-01T00:30:00Z", "price": -0.02}]')
    assert items[0].price == Decimal("-0.02")
    assert (items[0].ends_at - items[0].starts_at).total_seconds() == 900


def test_parse_prefers_the_area_currency():
    body = '[{"SEK_per_kWh": 0.3, "price": 9, "start": "2024-05-01T00:00:00+02:00", "end": "2024-05-01T01:00:00+02:00"}]'
    assert spot.parse_prices(body, "SEK")[0].price == Decimal("0.3")


@pytest.mark.parametrize("body", [
    '{"prices": []}',
    '[{"start": "2024-05-01T00:00:00", "end": "2024-05-01T01:00:00", "price": 1}]',  # no offset
    '[{"start": "2024-05-01T01:00:00Z", "end": "2024-05-01T00:00:00Z", "price": 1}]',  # backwards
    '[{"start": "2024-05-01T00:00:00Z", "end": "2024-05-01T01:00:00Z"}]',  # no price
])
def test_parse_refuses_bad_shapes(body):
    with pytest.raises(spot.SpotSourceError):
        spot.parse_prices(body)


def test_job_imports_hourly_and_quarter_hourly_and_reports_missing_days(db, database_url):
    with SpotFixture() as server:
        server.set_day("NO1", DAY, [Decimal("0.5")] * 24)
        server.set_day("SE3", DAY, [Decimal("0.25")] * 96, style="generic")
        result = import_spot_prices(database_url, server.template, days=[DAY.isoformat(), "2024-05-02"],
                                    areas=["NO1", "SE3", "NO5"])
    assert result["NO1 2024-05-01"] == "24 intervals"
    assert result["SE3 2024-05-01"] == "96 intervals"
    assert result["NO5 2024-05-01"] == "not published"
    assert result["NO1 2024-05-02"] == "not published"
    with db.session() as s:
        assert spot.day_status(s, "NO1", DAY).complete
        assert spot.day_status(s, "SE3", DAY).complete
        assert s.scalar(select(SpotPrice.currency).where(SpotPrice.price_area == "SE3").limit(1)) == "SEK"
        assert spot.day_status(s, "NO5", DAY).missing


def test_job_is_safe_to_run_twice_and_updates_prices(db, database_url):
    with SpotFixture() as server:
        server.set_day("NO2", DAY, [Decimal("0.5")] * 24)
        import_spot_prices(database_url, server.template, days=[DAY.isoformat()], areas=["NO2"])
        server.set_day("NO2", DAY, [Decimal("0.7")] * 24)
        import_spot_prices(database_url, server.template, days=[DAY.isoformat()], areas=["NO2"])
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(SpotPrice)) == 24
        assert spot.day_status(s, "NO2", DAY).maximum == Decimal("0.7")


def test_job_survives_a_broken_answer(db, database_url):
    with SpotFixture() as server:
        server.set_raw("NO3", DAY, "not json")
        server.set_day("NO4", DAY, [Decimal("0.1")] * 24)
        result = import_spot_prices(database_url, server.template, days=[DAY.isoformat()], areas=["NO3", "NO4"])
    assert result["NO3 2024-05-01"].startswith("error")
    assert result["NO4 2024-05-01"] == "24 intervals"


def test_job_without_source_does_nothing():
    assert import_spot_prices("sqlite://", "", days=[DAY.isoformat()]) == {}


def test_dst_day_has_23_hours():
    start, end = spot.day_bounds(date(2024, 3, 31))
    assert (end - start).total_seconds() == 23 * 3600
    assert len(day_prices(date(2024, 3, 31), [1] * 23)) == 23
