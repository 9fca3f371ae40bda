"""Sales: the ordering portal (/order) for residents and the quote request (/contact/sales) for boards."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("sales", __name__)

from portal.forms_common import keep_form_on_rate_limit  # noqa: E402

keep_form_on_rate_limit(bp)

from portal.sales import order, quote  # noqa: E402,F401  (registers their views on bp)
