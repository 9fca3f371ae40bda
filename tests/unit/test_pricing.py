from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.models import SubscriptionPlan, Tariff
from portal.services.billing import pricing
from portal.services.billing.pricing import PriceFormatError, choose_tariff, parse_price, session_cost


def tariff(id, kind="standard", fee="3.00", plans=()):
    t = Tariff(id=id, name=f"t{id}", pricing_type=kind, energy_fee=Decimal(fee))
    t.restrictions = [SubscriptionPlan(id=p, name=f"p{p}") for p in plans]
    return t


@pytest.mark.parametrize("text,expected", [
    ("2,35", "2.35"), ("2.35", "2.35"), (" 2,35 kr ", "2.35"), ("3", "3"), ("0,5", "0.5"), ("1,2345", "1.2345"),
])
def test_parse_price_accepts_comma_and_dot(text, expected):
    assert parse_price(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["", "abc", "2,3,5", "2.35.1", "-1", "1,23456", "1e5", "NaN", "2,"])
def test_parse_price_rejects_garbage(text):
    with pytest.raises(PriceFormatError):
        parse_price(text)


def test_negative_allowed_only_when_asked():
    assert parse_price("-0,12", allow_negative=True) == Decimal("-0.12")


@given(st.decimals(min_value=0, max_value=9999, places=2, allow_nan=False))
def test_comma_and_dot_parse_to_the_same_value(value):
    text = f"{value:.2f}"
    assert parse_price(text) == parse_price(text.replace(".", ",")) == value


def test_restricted_beats_unrestricted_even_when_dearer():
    cheap_open = tariff(1, fee="1.00")
    dear_residents = tariff(2, fee="4.00", plans=[10])
    choice = choose_tariff([cheap_open, dear_residents], {10})
    assert choice.tariff is dear_residents and choice.allowed


def test_cheapest_wins_among_equals():
    choice = choose_tariff([tariff(1, fee="3.50", plans=[1]), tariff(2, fee="2.90", plans=[2])], {1, 2})
    assert choice.tariff.id == 2


def test_not_allowed_winner_blocks():
    base = tariff(1, kind="not_allowed")
    residents = tariff(2, fee="3.20", plans=[7])
    outsider = choose_tariff([base, residents], set())
    assert outsider.tariff is base and not outsider.allowed and outsider.reason == "not_allowed"
    resident = choose_tariff([base, residents], {7})
    assert resident.allowed and resident.tariff is residents


def test_no_qualifying_tariff():
    choice = choose_tariff([tariff(1, plans=[3])], set())
    assert choice.tariff is None and choice.reason == "no_tariff"


def test_cost_energy_times_fee_with_vat_part():
    cost = session_cost(10_000, Decimal("3.20"), 0, 2500)
    assert cost.total_minor == 3200
    assert cost.vat_minor == 640  # 32,00 kr incl. 25 % VAT holds 6,40 kr VAT
    assert not cost.minimum_applied


def test_minimum_price_applies():
    cost = session_cost(500, Decimal("3.20"), 500, 2500)  # 0,5 kWh = 1,60 kr, minimum 5 kr
    assert cost.total_minor == 500 and cost.minimum_applied and cost.energy_minor == 160


def test_rounding_half_up_to_ore():
    assert session_cost(1, Decimal("5.00")).total_minor == 1  # 0,005 kr rounds up to 1 øre


def test_spot_price_never_below_zero():
    assert pricing.spot_unit_price(Decimal("-0.50"), Decimal("0.10"), Decimal("0")) == Decimal("0")
    assert pricing.spot_unit_price(Decimal("1.00"), Decimal("0.20"), Decimal("10"), 2500) == Decimal("1.6250")


def test_money_is_written_the_local_way():
    assert pricing.format_money(235, "NOK", "nb") == "2,35 kr"
    assert pricing.format_per_kwh(Decimal("3.2"), "SEK", "sv") == "3,20 kr/kWh"
    assert pricing.format_money(123456, "NOK", "en") == "1,234.56 kr"
