"""The building's electricity bill for charging, entered by the board in a form or uploaded as CSV.

Amounts are typed in currency units (kroner/kronor) incl. VAT, as on the bill, and read as Decimal (never
float): "1 234,50", "1234.50" and "1 234.50" all mean 123 450 øre; at most two decimals. kWh from the
charging sub-meter, at most three decimals, above zero. Negative amounts are refused.

CSV upload (UTF-8, ';'-separated, one month per line, this header first):
    year;month;kwh;energy;grid;capacity
    2026;11;1 234,5;1 480,00;620,50;350,00
A file with a wrong header or any bad line is refused as a whole, naming the lines.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import ElectricityBill

CSV_HEADER = ("year", "month", "kwh", "energy", "grid", "capacity")
AMOUNT_FIELDS = ("energy", "grid", "capacity")
_NUMBER = re.compile(r"^-?\d+([.,]\d+)?$")


class BillError(ValueError):
    """A value the bill cannot take: `field` and `code` (not_a_number, negative, too_precise, zero, month)."""

    def __init__(self, field: str, code: str, line: int | None = None):
        super().__init__(f"{field}: {code}")
        self.field, self.code, self.line = field, code, line


def _decimal(field: str, text: str | None, places: int) -> Decimal:
    cleaned = (text or "").strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if not _NUMBER.match(cleaned):
        raise BillError(field, "not_a_number")
    try:
        value = Decimal(cleaned.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern guards this
        raise BillError(field, "not_a_number") from None
    if value < 0:
        raise BillError(field, "negative")
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise BillError(field, "too_precise")
    return value


def parse_amount(field: str, text: str | None) -> int:
    """An amount typed in currency units, as minor units."""
    return int(_decimal(field, text, 2) * 100)


def parse_kwh(text: str | None) -> Decimal:
    value = _decimal("kwh", text, 3)
    if value == 0:
        raise BillError("kwh", "zero")
    return value


@dataclass(frozen=True)
class BillFigures:
    year: int
    month: int
    kwh: Decimal
    energy_minor: int
    grid_minor: int
    capacity_minor: int


def figures(year: int, month: int, values: dict[str, str | None]) -> BillFigures:
    """The bill's figures from typed text; raises BillError for the first wrong field."""
    kwh = parse_kwh(values.get("kwh"))
    amounts = {name: parse_amount(name, values.get(name)) for name in AMOUNT_FIELDS}
    return BillFigures(year, month, kwh, amounts["energy"], amounts["grid"], amounts["capacity"])


def errors(values: dict[str, str | None]) -> dict[str, str]:
    """Every wrong field of a typed bill: field -> code."""
    out: dict[str, str] = {}
    try:
        parse_kwh(values.get("kwh"))
    except BillError as exc:
        out["kwh"] = exc.code
    for name in AMOUNT_FIELDS:
        try:
            parse_amount(name, values.get(name))
        except BillError as exc:
            out[name] = exc.code
    return out


def parse_csv(text: str) -> tuple[list[BillFigures], list[tuple[int, str, str]]]:
    """The bills of an upload, and its problems as (line number, field, code); any problem refuses the whole."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    if not rows or tuple(cell.strip().lower() for cell in rows[0]) != CSV_HEADER:
        return [], [(1, "header", "header")]
    bills: list[BillFigures] = []
    problems: list[tuple[int, str, str]] = []
    seen: set[tuple[int, int]] = set()
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(CSV_HEADER):
            problems.append((number, "line", "columns"))
            continue
        values = dict(zip(CSV_HEADER, row))
        try:
            year, month = int(values["year"].strip()), int(values["month"].strip())
            if not (2000 <= year <= 2100 and 1 <= month <= 12) or (year, month) in seen:
                raise ValueError
        except ValueError:
            problems.append((number, "month", "month"))
            continue
        seen.add((year, month))
        try:
            bills.append(figures(year, month, values))
        except BillError as exc:
            problems.append((number, exc.field, exc.code))
    if not bills and not problems:
        problems.append((1, "line", "empty"))
    return bills, problems


def save(session: Session, site_id: int, bill: BillFigures, user_id: int | None) -> ElectricityBill:
    """Enter or replace the month's bill (flushes)."""
    row = session.scalar(select(ElectricityBill).where(
        ElectricityBill.site_id == site_id, ElectricityBill.year == bill.year, ElectricityBill.month == bill.month))
    if row is None:
        row = ElectricityBill(site_id=site_id, year=bill.year, month=bill.month)
        session.add(row)
    row.kwh, row.energy_minor, row.grid_minor, row.capacity_minor = (
        bill.kwh, bill.energy_minor, bill.grid_minor, bill.capacity_minor)
    row.entered_by_id = user_id
    session.flush()
    return row
