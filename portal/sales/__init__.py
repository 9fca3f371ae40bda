"""Sales: the ordering portal (/order) for residents and the quote request (/contact/sales) for boards."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("sales", __name__)

from portal.sales import order, quote  # noqa: E402,F401  (registers their views on bp)
