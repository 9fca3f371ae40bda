"""The accounting export for staff (support and admins): a month's postings as CSV
(portal/services/billing/postings.py); ?month=YYYY-MM, last month by default."""
from __future__ import annotations

from datetime import date

from flask import abort, current_app, make_response, request

from portal.extensions import db_session
from portal.services.billing.postings import postings, postings_csv
from portal.staff import bp
from portal.staff.common import staff_area


def _last_month() -> str:
    today = date.today()
    return f"{today.year:04d}-{today.month - 1:02d}" if today.month > 1 else f"{today.year - 1:04d}-12"


@bp.route("/accounting/postings.csv")
@staff_area("support")
def postings_export():
    text = request.args.get("month") or _last_month()
    try:
        year, month = (int(p) for p in text.split("-"))
    except ValueError:
        abort(400)
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        abort(400)
    text = postings_csv(postings(db_session(), year, month, current_app.config["OPERATOR_ORG_NUMBER"]))
    response = make_response(text)
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="postings-{year:04d}-{month:02d}.csv"'
    return response
