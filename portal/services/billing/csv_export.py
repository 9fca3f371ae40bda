"""CSV for spreadsheets: every export goes through here so no cell can run as a formula.

A spreadsheet treats a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return as a
formula (OWASP "CSV injection"). Text cells that start so get a leading apostrophe, which
spreadsheets show as plain text. A spreadsheet may also split the file on another separator than
ours (a comma, a tab) and may ignore quotes, so the same is done after every comma, semicolon, tab
or line break inside a cell, and every text cell is quoted. Numbers (int, float, Decimal) are left as
they are and unquoted, so a negative amount stays a number. Use `csv_text` for a whole file, or
`neutralise` per cell with your own writer (then quote with ``csv.QUOTE_NONNUMERIC``).
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DELIMITER = ";"  # Nordic spreadsheets open semicolon files with decimal commas directly
# A separator some spreadsheet may split on, followed by a formula start: an apostrophe goes between.
_INNER_FORMULA = re.compile(r"([,;\t\r\n])(?=[=+\-@\t\r])")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def neutralise(value: object) -> str:
    """The cell as text that a spreadsheet shows and never evaluates, however it splits the line."""
    if value is None:
        return ""
    if _is_number(value):
        return str(value)
    text = _INNER_FORMULA.sub(r"\1'", str(value))
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value: object) -> object:
    """Numbers as numbers (written unquoted), everything else as neutralised text (quoted)."""
    return value if _is_number(value) else neutralise(value)


def csv_text(header: Sequence[object], rows: Iterable[Sequence[object]], delimiter: str = DELIMITER) -> str:
    """A whole CSV file as text: the header and every row, each text cell neutralised and quoted."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow([_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([_cell(cell) for cell in row])
    return out.getvalue()
