"""Plain-word labels of codes that several areas' pages show (support ticket categories)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

TICKET_CATEGORY_LABELS = {
    "start_stop": _l("Starting or stopping charging"),
    "charger_fault": _l("A charger does not work"),
    "billing": _l("Invoice or payment"),
    "account": _l("My account"),
    "getting_started": _l("Getting started"),
    "other": _l("Something else"),
}
