"""Every CSV export neutralises formula cells through one helper, and downloads are never cached."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest

from portal.models import Transaction
from portal.services.billing.csv_export import csv_text, neutralise
from tests.factories import make_charge_point, make_site, make_user, resident_with_access

FORMULAS = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


@pytest.mark.parametrize("value", FORMULAS)
def test_a_cell_that_starts_like_a_formula_is_neutralised(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["Kari", "", "a=b", "12,5", 42, None, "'quoted"])
def test_other_cells_are_left_alone(value):
    assert neutralise(value) == ("" if value is None else str(value))


def test_numbers_stay_numbers_even_when_negative():
    assert neutralise(-3) == "-3" and neutralise(-2.5) == "-2.5"


def test_csv_text_writes_semicolon_rows_with_every_text_cell_neutralised():
    body = csv_text(["a", "b"], [["=1+1", -4], ["ok", "@x"]])
    assert list(csv.reader(io.StringIO(body), delimiter=";")) == [["a", "b"], ["'=1+1", "-4"], ["ok", "'@x"]]


def _tx(session, cp, user, day: int):
    start = datetime(2024, 5, day, 12, tzinfo=timezone.utc)
    tx = Transaction(charge_point_id=cp.id, connector_id=1, id_tag="T", user_id=user.id, status="completed",
                     start_key=f"k{cp.id}-{user.id}-{day}", meter_start_wh=1, meter_stop_wh=1001, started_at=start,
                     stopped_at=start, energy_wh=1000, cost_minor=320, tariff_name="=Tariff", currency="NOK")
    session.add(tx)
    session.flush()
    return tx


def _cells(response) -> list[str]:
    body = response.get_data(as_text=True).lstrip("\ufeff")
    return [cell for row in csv.reader(io.StringIO(body), delimiter=";") for cell in row]


def _assert_no_formula(cells: list[str]) -> None:
    for cell in cells:
        assert cell[:1] not in ("=", "+", "@", "\t", "\r"), cell
        assert not (cell.startswith("-") and not cell[1:].replace(",", "").replace(".", "").isdigit()), cell


def test_resident_history_csv(client, login, session):
    site, user, cp = resident_with_access(session)
    site.name, cp.name = "+Site", "@Charger"
    _tx(session, cp, user, 1)
    session.commit()
    login(client, user)
    response = client.get("/history.csv")
    cells = _cells(response)
    assert "'+Site" in cells and "'@Charger" in cells and "'=Tariff" in cells
    _assert_no_formula(cells)
    assert "no-store" in response.headers["Cache-Control"]


def test_board_report_csv(client, login, session):
    site = make_site(session, "eik")
    board = make_user(session, "board@eik.test", site=site, role="board")
    resident = make_user(session, "ada@eik.test", site=site, name="=cmd|' /C calc'!A0")
    _tx(session, make_charge_point(session, site, "CP-EIK-1"), resident, 2)
    session.commit()
    login(client, board)
    response = client.get("/manage/eik/reports.csv?month=2024-05")
    cells = _cells(response)
    assert "'=cmd|' /C calc'!A0" in cells
    _assert_no_formula(cells)
    assert "no-store" in response.headers["Cache-Control"]


# --- issue 23: a spreadsheet that splits on commas must not find a formula either -----------------

COMMA_ATTACK = "Ola,=2+5,-3+3,@SUM(1)"
FORMULA_CHARS = ("=", "+", "-", "@", "\t", "\r")


def _is_number(cell: str) -> bool:
    return cell.lstrip("-").replace(",", "").replace(".", "").isdigit()


def _naive_cells(body: str) -> list[str]:
    """How a spreadsheet that ignores quotes sees the file: split lines on commas (and semicolons)."""
    cells = []
    for line in body.splitlines():
        for part in line.replace(";", ",").split(","):
            cells.append(part.strip('"'))
    return cells


def _assert_no_formula_anywhere(body: str) -> None:
    parsed = [cell for row in csv.reader(io.StringIO(body), delimiter=";") for cell in row]
    parsed += [cell for row in csv.reader(io.StringIO(body), delimiter=",") for cell in row]
    for cell in parsed + _naive_cells(body):
        if cell and not _is_number(cell):
            assert not cell.startswith(FORMULA_CHARS), (cell, body)


def test_csv_text_quotes_text_and_neutralises_after_every_comma():
    body = csv_text(["name", "n"], [[COMMA_ATTACK, -3], ["a;\t=b", 2.5]])
    _assert_no_formula_anywhere(body)
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert rows[1][0].startswith("Ola,") and rows[1][1] == "-3"
    assert body.splitlines()[1].startswith('"Ola,')  # a text cell is always quoted


def test_board_report_csv_with_commas_in_a_name(client, login, session):
    site = make_site(session, "ask")
    board = make_user(session, "board@ask.test", site=site, role="board")
    resident = make_user(session, "ola@ask.test", site=site, name=COMMA_ATTACK)
    _tx(session, make_charge_point(session, site, "CP-ASK-1"), resident, 3)
    session.commit()
    login(client, board)
    body = client.get("/manage/ask/reports.csv?month=2024-05").get_data(as_text=True).lstrip("\ufeff")
    assert "Ola" in body
    _assert_no_formula_anywhere(body)
