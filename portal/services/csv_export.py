"""CSV for spreadsheets: every export goes through here so no cell can run as a formula.

A spreadsheet treats a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return as a
formula (OWASP "CSV injection"). Text cells that start so get a leading apostrophe, which
spreadsheets show as plain text. Numbers (int, float, Decimal) are left as they are, so a negative
amount stays a number. Use `csv_text` for a whole file, or `neutralise` per cell with your own writer.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DELIMITER = ";"  # Nordic spreadsheets open semicolon files with decimal commas directly


def neutralise(value: object) -> str:
    """The cell as text that a spreadsheet shows and never evaluates."""
    if value is None:
        return ""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[object], rows: Iterable[Sequence[object]], delimiter: str = DELIMITER) -> str:
    """A whole CSV file as text: the header and every row, each cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue()
