"""FAQ: reading and searching articles (/faq, /faq/<slug>), helpful votes, and editing by staff."""
from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext as _l

bp = Blueprint("faq", __name__)

CATEGORY_LABELS = {
    # own msgids: "Charging" alone is a charger's status ("Lader nå"), not a subject
    "charging": _l("About charging"),
    "prices": _l("Prices, invoices and payment"),
    "site_admin": _l("For the board"),
    "ordering": _l("Ordering and sales"),
    "support": _l("Help and faults"),
    "account": _l("Account"),
}
LANGUAGE_NAMES = {"nb": "Norsk", "sv": "Svenska", "en": "English"}

from portal.faq import feedback, manage, reading  # noqa: E402,F401  (registers their views on bp)
