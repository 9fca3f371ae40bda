"""Site management for board members and operator admins: overview pages and wiring of the feature views.

The views live in portal/site/{tariffs,people,chargers}.py on the same blueprint `bp`.
"""
from __future__ import annotations

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import func, select

from portal.extensions import db_session
from portal.htmx import render
from portal.models import ChargePoint, Invite, Membership, Tariff, TariffGroup
from portal.services import site_admin
from portal.site.common import bp, managed_site

__all__ = ["bp"]


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


from portal.site import board, changelog, chargers, ordering, people, tariffs, words  # noqa: E402,F401  (registers their views on bp)
