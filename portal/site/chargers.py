"""Chargers (live status, edit, Enabled/Disabled through the worker, owners) and monthly reports."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import flash, make_response, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice
from sqlalchemy import select

from portal import refusals
from portal.extensions import db_session, redis_conn
from portal.htmx import hx_redirect, render
from portal.models import ActionRequest, ChargePoint, Site
from portal.services.billing import statements
from portal.services.charging import action_queue, actions
from portal.services.sites import site_admin
from portal.services.sites.site_admin import RuleError
from portal.site import bp
from portal.site.common import managed_site, site_object
from portal.site.forms import ChargerForm

log = logging.getLogger(__name__)


def _last_actions(cp_ids: list[int]) -> dict[int, ActionRequest]:
    """The newest availability request per charge point."""
    if not cp_ids:
        return {}
    rows = db_session().scalars(
        select(ActionRequest).where(ActionRequest.charge_point_id.in_(cp_ids),
                                    ActionRequest.action == "ChangeAvailability")
        .order_by(ActionRequest.id))
    return {a.charge_point_id: a for a in rows}


@bp.route("/<slug>/chargers")
@login_required
def chargers(slug: str):
    """The list with live status; the table refreshes itself while the page is open."""
    site = managed_site(slug)
    cps = site_admin.site_charge_points(db_session(), site.id)
    return render("site/chargers.html", block="charger_table", site=site, charge_points=cps, section="chargers",
                  actions=_last_actions([cp.id for cp in cps]))


def _charger_form(site: Site, cp: ChargePoint) -> ChargerForm:
    form = ChargerForm()
    form.tariff_group_id.choices = [SelectChoice(0, _("No tariff group (nobody can charge)"))] + [
        SelectChoice(g.id, g.name) for g in site_admin.site_groups(db_session(), site.id)]
    if request.method == "GET":
        form.name.data, form.cp_type.data = cp.name, cp.cp_type
        form.status.data = "enabled" if cp.enabled else "disabled"
        form.tariff_group_id.data = cp.tariff_group_id or 0
        form.owner_email.data = cp.owner.email if cp.owner else ""
    return form


def _request_availability(cp: ChargePoint) -> ActionRequest:
    """ChangeAvailability for the charger's new state, sent by the worker once the page has committed."""
    return actions.request_availability(db_session(), current_user, cp, cp.enabled)


@bp.route("/<slug>/chargers/<int:cp_id>", methods=["GET", "POST"])
@login_required
def charger_edit(slug: str, cp_id: int):
    site = managed_site(slug)
    cp = site_object(ChargePoint, cp_id, site)
    form = _charger_form(site, cp)
    status = 200
    if form.validate_on_submit():
        s = db_session()
        try:
            toggled = site_admin.update_charger(s, current_user, cp, form.to_change())
        except RuleError as exc:
            s.rollback()
            getattr(form, exc.field or "name").errors = [refusals.text("site", exc.code)]
            status = 422
        else:
            action = _request_availability(cp) if toggled else None
            s.commit()
            flash(_("Charger %(name)s saved.", name=cp.display_name), "success")
            if action is not None:
                try:
                    action_queue.enqueue_action(redis_conn(), action.id)
                except actions.QueueUnavailable:
                    flash(_("The charger could not be sent the new status right now. The request is kept; "
                            "open the charger again in a moment to check it."), "error")
            return hx_redirect("site.charger_edit", slug=site.slug, cp_id=cp.id)
    elif request.method == "POST":
        status = 422
    return render("site/charger_form.html", block="form", status=status, site=site, cp=cp, form=form,
                  action=_last_actions([cp.id]).get(cp.id), section="chargers")


# --- reports -------------------------------------------------------------------------------

def _month(site: Site) -> tuple[int, int]:
    """The month asked for (?month=YYYY-MM), else the current month in the site's time zone."""
    text = request.args.get("month", "")
    try:
        year, month = (int(p) for p in text.split("-"))
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return year, month
    except ValueError:
        pass
    now = datetime.now(timezone.utc).astimezone(ZoneInfo(site.timezone))
    return now.year, now.month


@bp.route("/<slug>/reports")
@login_required
def reports(slug: str):
    site = managed_site(slug)
    year, month = _month(site)
    rows = site_admin.monthly_report(db_session(), site, year, month)
    totals = {key: sum(getattr(r, key) for r in rows)
              for key in ("sessions", "energy_wh", "cost_minor", "fees_minor", "total_minor", "vat_minor")}
    invoiced = sum(r.invoiced_minor for r in rows)
    issued = statements.site_statements(db_session(), site.id, year, month)
    return render("site/reports.html", block="report", site=site, rows=rows, totals=totals, section="reports",
                  month_value=f"{year:04d}-{month:02d}", invoiced_minor=invoiced,
                  invoiced_vat_minor=sum(r.invoiced_vat_minor for r in rows), issued=issued,
                  issued_minor=sum(st.total_minor for st in issued))


@bp.route("/<slug>/reports.csv")
@login_required
def reports_csv(slug: str):
    site = managed_site(slug)
    year, month = _month(site)
    rows = site_admin.monthly_report(db_session(), site, year, month)
    response = make_response(site_admin.report_csv(rows, year, month, site.currency))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{site.slug}-{year:04d}-{month:02d}.csv"'
    return response
