"""Uptime of every site, ranked (lowest first), and our planned maintenance windows (/staff/uptime,
/staff/maintenance): planned work is left out of uptime and shown to boards."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.extensions import db_session
from portal.htmx import redirect_to, render
from portal.models import ChargePoint, MaintenanceWindow
from portal.services.reliability import report
from portal.staff import bp
from portal.staff.common import all_sites, site_by_slug, staff_area
from portal.staff.workorder_forms import DeleteForm, MaintenanceForm
from portal.web import current_language


def _month() -> tuple[int, int]:
    text = request.args.get("month", "")
    parts = text.split("-")
    if len(parts) == 2 and all(p.isdigit() for p in parts) and 2000 <= int(parts[0]) <= 2100 \
            and 1 <= int(parts[1]) <= 12:
        return int(parts[0]), int(parts[1])
    now = datetime.now(timezone.utc).astimezone(ZoneInfo("Europe/Oslo"))
    return now.year, now.month


@bp.route("/uptime")
@staff_area("support")
def uptime_ranking():
    year, month = _month()
    language = current_language()
    return render("staff/uptime.html", ranked=report.ranking(db_session(), year, month),
                  month_value=f"{year:04d}-{month:02d}", pct=lambda share: report.percent(share, language),
                  hours=report.hours, section="uptime")


def _maintenance_page(form: MaintenanceForm, status: int = 200):
    windows = db_session().scalars(select(MaintenanceWindow).where(MaintenanceWindow.ends_at > datetime.now(timezone.utc))
                                   .order_by(MaintenanceWindow.starts_at).limit(200))
    return render("staff/maintenance.html", status=status, form=form, windows=list(windows),
                  delete_form=DeleteForm(formdata=None), section="maintenance")


@bp.route("/maintenance", methods=["GET", "POST"])
@staff_area("support")
def maintenance():
    form = MaintenanceForm()
    form.site.choices = [(s.slug, s.name) for s in all_sites()]
    if not form.validate_on_submit():
        return _maintenance_page(form, 422 if form.errors else 200)
    s = db_session()
    site = site_by_slug(form.site.data)
    cp = None
    if form.charger.data:
        cp = s.scalar(select(ChargePoint).where(ChargePoint.identity == form.charger.data,
                                                ChargePoint.site_id == site.id))
        if cp is None:
            form.charger.errors = [_("The site has no charger with that identity.")]
            return _maintenance_page(form, 422)
    zone = ZoneInfo(site.timezone)
    s.add(MaintenanceWindow(site_id=site.id, charge_point_id=cp.id if cp else None,
                            starts_at=form.starts_at.data.replace(tzinfo=zone),
                            ends_at=form.ends_at.data.replace(tzinfo=zone), reason=form.reason.data,
                            created_by_id=current_user.id))
    s.commit()
    flash(_("The maintenance window is planned."), "success")
    return redirect_to(url_for("staff.maintenance"))


@bp.route("/maintenance/<int:window_id>/delete", methods=["POST"])
@staff_area("support")
def maintenance_delete(window_id: int):
    s = db_session()
    window = s.get(MaintenanceWindow, window_id)
    if window is None:
        abort(404)
    if not DeleteForm().validate_on_submit():
        abort(400)
    s.delete(window)
    s.commit()
    flash(_("The maintenance window was removed."), "success")
    return redirect_to(url_for("staff.maintenance"))
