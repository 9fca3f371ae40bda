"""The sites a board member or admin manages, and one site's dashboard."""
from __future__ import annotations

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import func, select

from portal.extensions import db_session
from portal.htmx import render
from portal.models import ChargePoint, Invite, Membership, Tariff, TariffGroup
from portal.services.sites import site_admin
from portal.site import bp
from portal.site.common import managed_site


@bp.route("/")
@login_required
def index():
    sites = site_admin.manageable_sites(db_session(), current_user)
    if not sites:
        abort(403)
    return render("site/index.html", sites=sites)


@bp.route("/<slug>/")
@login_required
def dashboard(slug: str):
    site = managed_site(slug)
    s = db_session()

    def count(model, *where):
        return s.scalar(select(func.count()).select_from(model).where(model.site_id == site.id, *where)) or 0

    counts = {
        "tariffs": count(Tariff), "groups": count(TariffGroup), "chargers": count(ChargePoint),
        "members": count(Membership), "invites": count(Invite, Invite.status == "pending"),
        "offline": count(ChargePoint, ChargePoint.online.is_(False)),
        "disabled": count(ChargePoint, ChargePoint.enabled.is_(False)),
    }
    return render("site/dashboard.html", site=site, counts=counts, section="overview")

