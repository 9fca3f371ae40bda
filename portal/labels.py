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

# Whose a charger's downtime was (incidents.downtime_owner), on the uptime pages and the monthly report.
DOWNTIME_OWNER_LABELS = {
    "operator": _l("Operator (us)"),
    "cooperative_network": _l("The cooperative's network"),
    "cooperative_power": _l("The cooperative's power supply"),
    "grid": _l("The grid"),
    "unknown": _l("Not yet known"),
}

WORK_ORDER_STATUS_LABELS = {
    "draft": _l("Draft"),
    "sent": _l("Sent to the technician"),
    "scheduled": _l("Visit time confirmed"),
    "on_site": _l("Technician on site"),
    "done": _l("Done"),
    "cancelled": _l("Cancelled"),
}

# A statement's paid state (portal/services/payments/states.py), on the resident's and the staff's pages.
PAID_STATE_LABELS = {
    "unpaid": _l("Not paid"),
    "part_paid": _l("Partly paid"),
    "paid": _l("Paid"),
    "overpaid": _l("Paid too much"),
}
