"""The console's landing page: what needs a look now, across all sites or one; refreshes itself."""
from __future__ import annotations

from flask import request
from flask_login import current_user

from portal.extensions import db_session
from portal.htmx import render
from portal.services.staff import overview as service
from portal.services.staff import pipeline
from portal.services.staff.roles import allowed
from portal.staff import bp
from portal.staff.common import all_sites, site_by_slug, staff_area
from portal.staff.ticket_counts import ticket_desk

REFRESH_S = 10


@bp.route("", strict_slashes=False)
@staff_area("overview")
def index():
    """Support sees the status overview, sales what waits for them (no charger data); admins both."""
    site = site_by_slug(request.args.get("site"))
    data = service.overview(db_session(), site.id if site else None) if allowed(current_user, "support") else None
    sales = pipeline.sales_summary(db_session()) if allowed(current_user, "sales") else None
    desk = ticket_desk(site.id if site else None) if data is not None else None
    return render("staff/index.html", block="status", sites=all_sites(), site=site, data=data, sales=sales,
                  desk=desk, refresh_s=REFRESH_S, section="overview")
