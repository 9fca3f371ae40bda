"""The payout arithmetic (fee share + fixed, to the øre), the electricity bill's parsing, and the accounting
postings (every voucher balances, one pair of sales/VAT lines per VAT rate)."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from portal.models import Statement, StatementLine
from portal.services.billing import electricity, postings
from portal.services.billing.payouts import break_even_price, operator_fee

ACC = {"receivable": "1500", "sales_charging": "3000", "vat_out": "2700", "bank": "1920",
       "payout_liability": "2400", "operator_fee": "3100"}


@pytest.mark.parametrize("paid, share_bp, fixed, fee", [
    (100_000, 0, 0, 0),
    (100_000, 1000, 0, 10_000),  # 10 % of 1000 kr
    (100_000, 750, 25_000, 7_500 + 25_000),
    (12_345, 500, 0, 617),  # 617.25 øre -> 617
    (12_350, 500, 0, 618),  # 617.5 -> 618 (half up)
    (1, 5000, 0, 1),  # 0.5 øre -> 1
    (0, 1000, 25_000, 25_000),  # nothing paid: only the fixed part
    (-5_000, 1000, 0, 0),  # a month of refunds carries no share
])
def test_the_operator_fee_is_the_share_half_up_to_the_ore_plus_the_fixed_part(paid, share_bp, fixed, fee):
    assert operator_fee(paid, share_bp, fixed) == fee


def test_the_break_even_price_is_the_cost_per_kwh_charged():
    assert break_even_price(24_370, 142_500) == Decimal("1.71")  # 243.70 kr over 142.5 kWh
    assert break_even_price(100_000, 0) is None


@pytest.mark.parametrize("text, minor", [("1 234,50", 123_450), ("1234.50", 123_450), ("1\u00a0234,5", 123_450),
                                         ("0", 0), (" 12 ", 1200), ("1 234.50", 123_450)])
def test_amounts_are_read_as_decimal_with_comma_or_dot(text, minor):
    assert electricity.parse_amount("energy", text) == minor


@pytest.mark.parametrize("text, code", [("abc", "not_a_number"), ("", "not_a_number"), ("-5", "negative"),
                                        ("1,234", "too_precise"), ("1e3", "not_a_number"), ("1.2.3", "not_a_number")])
def test_wrong_amounts_are_refused_with_a_reason(text, code):
    with pytest.raises(electricity.BillError) as exc:
        electricity.parse_amount("energy", text)
    assert exc.value.code == code


def test_kwh_must_be_more_than_zero():
    assert electricity.parse_kwh("142,5") == Decimal("142.5")
    with pytest.raises(electricity.BillError) as exc:
        electricity.parse_kwh("0")
    assert exc.value.code == "zero"
    assert electricity.errors({"kwh": "0", "energy": "x", "grid": "-1", "capacity": "3"}) == {
        "kwh": "zero", "energy": "not_a_number", "grid": "negative"}


def test_a_csv_upload_with_bad_lines_is_refused_with_their_numbers():
    good = "year;month;kwh;energy;grid;capacity\n2026;10;142,5;1 482,00;605,00;350,00\n2026;11;100;1000.00;0;0\n"
    bills, problems = electricity.parse_csv(good)
    assert problems == [] and [(b.year, b.month, b.energy_minor) for b in bills] == [(2026, 10, 148_200),
                                                                                     (2026, 11, 100_000)]
    bad = "year;month;kwh;energy;grid;capacity\n2026;10;0;1;1;1\n2026;11;1;1;1;1\n2026;13;1;1;1;1\n2026;12;1;x;1\n"
    _bills, problems = electricity.parse_csv(bad)
    assert problems == [(2, "kwh", "zero"), (4, "month", "month"), (5, "line", "columns")]
    assert electricity.parse_csv("month;year\n2026;10\n")[1] == [(1, "header", "header")]


def _doc(number: str, kind: str, lines: list[tuple[int, int]]) -> Statement:
    doc = Statement(number=number, kind=kind, site_name="Eik", billed_name="Ada", year=2026, month=11,
                    currency="NOK", created_at=datetime(2026, 12, 1, 6, tzinfo=timezone.utc))
    doc.lines = [StatementLine(kind="session", amount_minor=a, vat_minor=v) for a, v in lines]
    return doc


def _balances(rows) -> dict[str, int]:
    sums: dict[str, int] = defaultdict(int)
    for p in rows:
        sums[p.voucher] += p.amount_minor
    return sums


def test_a_statement_posts_receivable_against_sales_and_vat_per_rate_and_balances():
    doc = _doc("F-00000001", "statement", [(12_500, 2_500), (10_001, 2_000), (11_200, 1_200)])  # 25 %, 25 %, 12 %
    rows = postings.document_postings(doc, ACC)
    assert _balances(rows) == {"F-00000001": 0}
    by = {(p.account, p.vat_rate): p.amount_minor for p in rows}
    assert by == {("1500", None): 33_701, ("3000", 25): -18_001, ("2700", 25): -4_500,
                  ("3000", 12): -10_000, ("2700", 12): -1_200}
    assert {p.on for p in rows} == {date(2026, 12, 1)}


def test_a_credit_note_posts_the_opposite_and_balances():
    rows = postings.document_postings(_doc("F-00000002", "credit_note", [(-12_500, -2_500)]), ACC)
    assert _balances(rows) == {"F-00000002": 0}
    assert {(p.account, p.amount_minor) for p in rows} == {("1500", -12_500), ("3000", 10_000), ("2700", 2_500)}


def test_the_csv_has_the_documented_columns_signed_amounts_and_neutralised_text():
    doc = _doc("F-00000003", "statement", [(12_500, 2_500)])
    doc.billed_name = "=HYPERLINK(1)"
    text = postings.postings_csv(postings.document_postings(doc, ACC))
    lines = text.splitlines()
    assert lines[0] == '"voucher";"date";"kind";"document";"site";"account";"vat_rate";"text";"amount";"currency"'
    assert '"2026-12-01"' in lines[1] and ";125.00;" in lines[1] and "\"'=HYPERLINK(1)\"" in lines[1]
    assert ";-100.00;" in lines[2] and ";-25.00;" in lines[3]
