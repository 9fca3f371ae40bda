"""Sales: the ordering portal (/order) for residents and the quote request (/contact/sales) for boards."""
from __future__ import annotations

from flask import Blueprint

from portal.forms_common import keep_form_on_rate_limit, private_pages

bp = Blueprint("sales", __name__)

keep_form_on_rate_limit(bp)
private_pages(bp, {"sales.order_status", "sales.order_by_token"})

from portal.sales import order, quote  # noqa: E402,F401  (registers their views on bp)
