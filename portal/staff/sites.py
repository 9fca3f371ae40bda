"""The cooperatives: every staff member sees the list with its chargers' state; sales set the operating
agreement (it decides whether residents can order and whether the chargers are let in)."""
from __future__ import annotations

from flask import abort, flash
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, func, select

from portal.extensions import db_session
from portal.htmx import hx_redirect, render
from portal.models import ChargePoint, Site
from portal.services.sites import audit
from portal.staff import bp
from portal.staff.common import all_sites, staff_area
from portal.staff.forms import AgreementForm


@bp.route("/sites")
@staff_area("overview")
def sites():
    counts = charger_counts(db_session())
    return render("staff/sites.html", sites=all_sites(), counts=counts, form=AgreementForm(), section="sites")


def charger_counts(session) -> dict[int, tuple[int, int]]:
    """site id -> (chargers, of which online)."""
    rows = session.execute(select(ChargePoint.site_id, func.count(), func.sum(case((ChargePoint.online, 1), else_=0)))
                           .group_by(ChargePoint.site_id))
    return {site_id: (total, int(online or 0)) for site_id, total, online in rows}


@bp.route("/sites/<slug>/agreement", methods=["POST"])
@staff_area("sales")
def site_agreement(slug: str):
    session = db_session()
    site = session.scalar(select(Site).where(Site.slug == slug))
    if site is None:
        abort(404)
    form = AgreementForm()
    if not form.validate_on_submit():
        flash(" ".join(str(e) for e in form.reason.errors or form.agreement_status.errors), "error")
        return hx_redirect("staff.sites")
    before = {"agreement_status": site.agreement_status}
    site.agreement_status = form.agreement_status.data
    audit.record(session, current_user, site.id, "site", site.id, "agreement", before=before,
                 after={"agreement_status": site.agreement_status}, area="staff", reason=form.reason.data)
    session.commit()
    flash(_("The agreement of %(name)s is saved.", name=site.name), "info")
    return hx_redirect("staff.sites")
