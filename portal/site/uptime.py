"""Uptime for the board: the site's month (figures, causes, trend chart), per charger and connector,
maintenance and planned technician visits, and the CSV (/manage/<site>/uptime)."""
from __future__ import annotations

from flask import make_response
from flask_login import login_required
from sqlalchemy import select

from portal.extensions import db_session
from portal.labels import DOWNTIME_OWNER_LABELS
from portal.htmx import render
from portal.models import WorkOrder
from portal.services.reliability import record, report
from portal.services.reliability.chart import trend_chart
from portal.site import bp
from portal.site.chargers import _month
from portal.site.common import managed_site
from portal.web import current_language

OPEN_VISITS = ("sent", "scheduled", "on_site")


def planned_visits(site_id: int) -> list[WorkOrder]:
    return list(db_session().scalars(select(WorkOrder).where(
        WorkOrder.site_id == site_id, WorkOrder.status.in_(OPEN_VISITS)).order_by(WorkOrder.scheduled_for)))


@bp.route("/<slug>/uptime")
@login_required
def uptime(slug: str):
    """The month asked for (?month=YYYY-MM), with the twelve months up to it as a chart."""
    site = managed_site(slug)
    year, month = _month(site)
    s = db_session()
    month_report = record.site_month(s, site, year, month)
    points = [(f"{m:02d}.{y % 100:02d}", share) for y, m, share in record.trend(s, site, year, month)]
    language = current_language()
    return render("site/uptime.html", block="report", site=site, section="uptime", r=month_report,
                  chart=trend_chart(points), month_value=f"{year:04d}-{month:02d}", owners=DOWNTIME_OWNER_LABELS,
                  pct=lambda share: report.percent(share, language), hours=report.hours,
                  visits=planned_visits(site.id))


@bp.route("/<slug>/uptime.csv")
@login_required
def uptime_csv(slug: str):
    site = managed_site(slug)
    year, month = _month(site)
    response = make_response(report.month_csv(record.site_month(db_session(), site, year, month)))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{site.slug}-uptime-{year:04d}-{month:02d}.csv"'
    return response
