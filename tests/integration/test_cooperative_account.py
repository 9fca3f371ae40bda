"""Issue 24 parts 4-5 end to end on the demo data: the payout statement adds up to the øre against the
sessions and the payments in the database (summed here independently), the board enters an electricity bill
and sees the difference and the break-even price, bad bills and bad CSV files are refused, and the month's
postings export balances voucher by voucher."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from portal.models import ChargePoint, ElectricityBill, Payment, Site, Statement, Transaction, User


@pytest.fixture
def demo(app, session):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    site = session.scalar(select(Site).where(Site.slug == "solbakken"))
    booked = session.scalar(select(func.min(Payment.booked_on)).where(Payment.site_id == site.id))
    board = session.scalar(select(User).where(User.email == "board@demo.test"))
    return site, booked.year, booked.month, board


def _minor(page: str, testid: str) -> int:
    return int(re.search(rf'data-testid="{testid}" data-minor="(-?\d+)"', page).group(1))


def _independent(session, site: Site, year: int, month: int) -> tuple[int, int, int]:
    """Energy of the month's sessions, what was billed and what was paid, straight from the tables."""
    zone = ZoneInfo(site.timezone)
    first = datetime(year, month, 1, tzinfo=zone)
    nxt = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    txs = session.scalars(select(Transaction).join(ChargePoint).where(
        ChargePoint.site_id == site.id, Transaction.status == "completed"))
    energy = sum(tx.energy_wh or 0 for tx in txs
                 if first <= tx.started_at.astimezone(zone) < nxt and not tx.refused_at_start)
    billed = session.scalar(select(func.sum(Statement.total_minor)).where(
        Statement.site_id == site.id, Statement.year == year, Statement.month == month)) or 0
    paid = sum(p.amount_minor for p in session.scalars(select(Payment).where(Payment.site_id == site.id))
               if (p.booked_on.year, p.booked_on.month) == (year, month))
    return energy, billed, paid


def test_the_payout_statement_adds_up_to_the_ore(demo, session, client, login):
    site, year, month, board = demo
    energy, billed, paid = _independent(session, site, year, month)
    assert paid > 0 and billed > 0 and energy > 0
    login(client, board)
    page = client.get(f"/manage/solbakken/account?month={year:04d}-{month:02d}").get_data(as_text=True)
    fee = (paid * 500 + 5_000) // 10_000 + 25_000  # the demo's 5 % (half up) + 250 kr
    assert f'data-testid="payout-energy" data-wh="{energy}"' in page
    assert _minor(page, "payout-billed") == billed
    assert _minor(page, "payout-paid") == paid
    assert _minor(page, "payout-amount") == paid - fee
    assert "Operator fee: 5 % of what was paid" in page
    assert "912345688" in page and "923 609 016" in page
    # the demo's electricity bill for the month: 148.20 + 60.50 + 35.00 kr
    assert _minor(page, "power-cost") == 24_370
    assert _minor(page, "power-difference") == paid - 24_370
    price = (Decimal(24_370) * 1000 / energy / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert f'data-testid="break-even" data-price="{price}"' in page


def test_the_board_enters_a_bill_and_sees_the_difference_and_break_even(demo, session, client, login):
    site, year, month, board = demo
    login(client, board)
    url = f"/manage/solbakken/account/bill?month={year:04d}-{month:02d}"
    wrong = client.post(url, data={"kwh": "0", "energy": "12x", "grid": "-3", "capacity": "1 234,50"})
    text = wrong.get_data(as_text=True)
    assert wrong.status_code == 422
    assert "must be more than 0" in text and "in numbers" in text and "cannot be negative" in text
    assert 'value="12x"' in text and 'value="1 234,50"' in text  # what was typed is kept
    ok = client.post(url, data={"kwh": "200", "energy": "1 234,50", "grid": "1000.00", "capacity": "265,50"})
    assert ok.status_code == 303
    session.expire_all()
    bill = session.scalar(select(ElectricityBill).where(ElectricityBill.site_id == site.id,
                                                        ElectricityBill.year == year, ElectricityBill.month == month))
    assert (bill.energy_minor, bill.grid_minor, bill.capacity_minor) == (123_450, 100_000, 26_550)
    energy, _billed, paid = _independent(session, site, year, month)
    page = client.get(f"/manage/solbakken/account?month={year:04d}-{month:02d}").get_data(as_text=True)
    assert _minor(page, "power-difference") == paid - 250_000
    price = (Decimal(250_000) * 1000 / energy / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert f'data-price="{price}"' in page


def test_a_bill_file_with_bad_lines_is_refused_as_a_whole_and_nb_is_spoken(demo, session, client, login):
    site, year, month, board = demo
    login(client, board)
    client.set_cookie("lang", "nb")
    before = session.scalar(select(func.count()).select_from(ElectricityBill))
    body = "year;month;kwh;energy;grid;capacity\n2025;1;10;100;0;0\n2025;2;10;abc;0;0\n2025;3;0;1;1;1\n"
    res = client.post(f"/manage/solbakken/account/bills.csv?month={year:04d}-{month:02d}",
                      data={"bill_file": (io.BytesIO(body.encode()), "bills.csv")},
                      content_type="multipart/form-data")
    text = res.get_data(as_text=True)
    assert res.status_code == 422
    assert "Ingenting ble lagret" in text and "Linje 3" in text and "Linje 4" in text
    assert session.scalar(select(func.count()).select_from(ElectricityBill)) == before
    good = "year;month;kwh;energy;grid;capacity\n2025;1;10;100;0;0\n2025;2;12,5;1 100,00;10.50;0\n"
    res = client.post(f"/manage/solbakken/account/bills.csv?month={year:04d}-{month:02d}",
                      data={"bill_file": (io.BytesIO(good.encode()), "bills.csv")}, content_type="multipart/form-data")
    assert res.status_code == 303
    assert session.scalar(select(func.count()).select_from(ElectricityBill)) == before + 2


def test_a_board_member_never_sees_another_sites_account(demo, client, login):
    _site, year, month, board = demo
    login(client, board)
    assert client.get("/manage/nordlys/account").status_code in (403, 404)
    assert client.post("/manage/nordlys/account/bill", data={"kwh": "1", "energy": "1", "grid": "1",
                                                             "capacity": "1"}).status_code in (403, 404)
    assert client.get("/staff/accounting/postings.csv?month=2026-01").status_code == 403


def _vouchers(text: str) -> dict[str, list[dict]]:
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row["voucher"], []).append(row)
    return out


def test_the_months_postings_balance_and_pay_out_what_was_paid(demo, app, session, client, login, tmp_path):
    site, year, month, _board = demo
    _energy, _billed, paid = _independent(session, site, year, month)
    login(client, session.scalar(select(User).where(User.email == "support@demo.test")))
    res = client.get(f"/staff/accounting/postings.csv?month={year:04d}-{month:02d}")
    assert res.status_code == 200 and res.headers["Content-Type"].startswith("text/csv")
    vouchers = _vouchers(res.get_data(as_text=True))
    for voucher, rows in vouchers.items():
        assert sum(Decimal(r["amount"]) for r in rows) == 0, voucher
        assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["date"]) for r in rows)
    docs = session.scalars(select(Statement).where(Statement.year == year, Statement.month == month))
    assert {d.number for d in docs} <= set(vouchers)
    payments = [v for v in vouchers.values() if v[0]["kind"] == "payment"]
    assert sum(Decimal(r["amount"]) for v in payments for r in v if r["account"] == "1920") == Decimal(paid) / 100
    payout = vouchers[f"U-{year:04d}{month:02d}-{site.id}"]
    fee = (paid * 500 + 5_000) // 10_000 + 25_000
    assert {r["account"]: Decimal(r["amount"]) for r in payout} == {
        "3000": Decimal(paid) / 100, "3100": -Decimal(fee) / 100, "2400": -Decimal(paid - fee) / 100}
    out = tmp_path / "postings.csv"
    result = app.test_cli_runner().invoke(args=["statements", "export-postings", "--year", str(year),
                                                "--month", str(month), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == res.get_data()
    assert client.get("/staff/accounting/postings.csv?month=nonsense").status_code == 400
    assert date(year, month, 1)  # the month the demo's payments arrived in


def test_sales_set_the_fee_and_the_board_sees_it_on_the_payout(demo, session, client, login):
    site, year, month, board = demo
    _energy, _billed, paid = _independent(session, site, year, month)
    login(client, session.scalar(select(User).where(User.email == "admin@demo.test")))
    wrong = client.post("/staff/sites/solbakken/payout-fee", data={"share": "120", "fixed": "-5"})
    text = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "from 0 to 100" in text and "not negative" in text
    assert 'value="120"' in text and 'value="-5"' in text
    assert client.post("/staff/sites/solbakken/payout-fee", data={"share": "7,5", "fixed": "100"}).status_code == 303
    login(client, board)
    assert client.get("/staff/sites/solbakken/payout-fee").status_code == 403  # the board never sees the setting
    page = client.get(f"/manage/solbakken/account?month={year:04d}-{month:02d}").get_data(as_text=True)
    fee = (paid * 750 + 5_000) // 10_000 + 10_000
    assert _minor(page, "payout-amount") == paid - fee
    assert "Operator fee: 7.5 % of what was paid" in page
