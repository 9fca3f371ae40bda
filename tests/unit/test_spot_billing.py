"""Spot billing through the OCPP ingest path: each metered stretch at its interval's price."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from portal.models import SpotPrice, Transaction
from portal.services import ocpp_ingest
from portal.services.sites.onboarding import virtual_tag
from portal.services.billing.spot import FALLBACK_FLAG
from tests.factories import make_charge_point, make_group, make_plan, make_site, make_tariff, make_user, subscribe

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


def spot_setup(session, *, markup="0", percent="0", fallback="3.00"):
    site = make_site(session, price_area="NO1")
    plan = make_plan(session, site)
    tariff = make_tariff(session, site, pricing_type="spot", fee="0", plans=[plan], spot_markup=Decimal(markup),
                         spot_markup_percent=Decimal(percent), spot_fallback=Decimal(fallback))
    cp = make_charge_point(session, site, group=make_group(session, site, [tariff]))
    user = make_user(session, site=site)
    subscribe(session, user, plan)
    return cp, virtual_tag(session, user).tag


def price_hour(session, hour: int, price: str, area="NO1"):
    start = T0.replace(hour=hour)
    session.add(SpotPrice(price_area=area, starts_at=start, ends_at=start + timedelta(hours=1),
                          price_per_kwh=Decimal(price)))
    session.flush()


def charge(session, cp, tag, readings: list[tuple[datetime, int]]) -> Transaction:
    """Start at the first reading, send the middle ones as MeterValues, stop at the last."""
    (t_start, m_start), *middle, (t_stop, m_stop) = readings
    out = ocpp_ingest.start_transaction(session, cp.identity, connector_id=1, id_tag=tag, meter_start=m_start,
                                        timestamp=t_start, now=t_start)
    for ts, wh in middle:
        ocpp_ingest.meter_values(session, cp.identity, connector_id=1, transaction_id=out.transaction_id,
                                 meter_value=[{"timestamp": ts, "sampled_value": [{"value": str(wh)}]}], now=ts)
    ocpp_ingest.stop_transaction(session, cp.identity, transaction_id=out.transaction_id, meter_stop=m_stop,
                                 timestamp=t_stop, reason="Local", id_tag=None, transaction_data=None,
                                 payload={}, now=t_stop)
    return session.get(Transaction, out.transaction_id)


def test_session_across_an_hour_boundary_is_billed_at_each_hours_price(session):
    cp, tag = spot_setup(session)
    price_hour(session, 10, "1.00")
    price_hour(session, 11, "2.00")
    tx = charge(session, cp, tag, [(T0.replace(minute=30), 1000), (T0.replace(hour=11), 6000),
                                   (T0.replace(hour=11, minute=30), 11000)])
    # 5 kWh × 1.25 + 5 kWh × 2.50 (25 % VAT)
    assert tx.pricing_type == "spot"
    assert tx.energy_wh == 10000
    assert tx.cost_minor == 1875
    assert tx.vat_minor == 375
    assert tx.price_flag is None


def test_stretch_between_readings_is_split_at_the_boundary_by_time(session):
    cp, tag = spot_setup(session)
    price_hour(session, 10, "1.00")
    price_hour(session, 11, "2.00")
    # no reading at 11:00: 10:45 -> 11:30 with 9 kWh evenly = 3 kWh in hour 10, 6 kWh in hour 11
    tx = charge(session, cp, tag, [(T0.replace(minute=45), 100), (T0.replace(hour=11, minute=30), 9100)])
    assert tx.cost_minor == 3 * 125 + 6 * 250


def test_markups_are_added_before_vat(session):
    cp, tag = spot_setup(session, markup="0.10", percent="10")
    price_hour(session, 10, "1.00")
    tx = charge(session, cp, tag, [(T0, 1000), (T0.replace(minute=30), 3000)])
    # (1.00 + 10 % + 0.10) × 1.25 = 1.50 per kWh, 2 kWh
    assert tx.cost_minor == 300


def test_missing_interval_uses_the_fallback_price_and_flags_the_session(session):
    cp, tag = spot_setup(session, fallback="3.00")
    price_hour(session, 10, "1.00")
    tx = charge(session, cp, tag, [(T0.replace(minute=30), 1000), (T0.replace(hour=11), 6000),
                                   (T0.replace(hour=11, minute=30), 11000)])
    assert tx.cost_minor == 5 * 125 + 5 * 300
    assert tx.price_flag == FALLBACK_FLAG


def test_whole_day_missing_bills_everything_at_fallback(session):
    cp, tag = spot_setup(session, fallback="2.40")
    tx = charge(session, cp, tag, [(T0, 1000), (T0.replace(hour=12), 11000)])
    assert tx.cost_minor == 2400
    assert tx.price_flag == FALLBACK_FLAG


def test_negative_spot_price_is_never_billed_below_zero(session):
    cp, tag = spot_setup(session, markup="0.10")
    price_hour(session, 10, "-0.80")
    price_hour(session, 11, "1.00")
    tx = charge(session, cp, tag, [(T0, 0 + 1), (T0.replace(hour=11), 4001), (T0.replace(hour=12), 8001)])
    # hour 10: (-0.80 + 0.10) × 1.25 < 0 -> 0; hour 11: 1.10 × 1.25 = 1.375 × 4 kWh
    assert tx.cost_minor == 550
    assert tx.cost_minor >= 0


def test_quarter_hour_intervals(session):
    cp, tag = spot_setup(session)
    for n, price in enumerate(["1.00", "2.00", "3.00", "4.00"]):
        start = T0 + timedelta(minutes=15 * n)
        session.add(SpotPrice(price_area="NO1", starts_at=start, ends_at=start + timedelta(minutes=15),
                              price_per_kwh=Decimal(price)))
    tx = charge(session, cp, tag, [(T0, 1000), (T0 + timedelta(hours=1), 5000)])
    # 1 kWh in each quarter: (1 + 2 + 3 + 4) × 1.25
    assert tx.cost_minor == 1250
