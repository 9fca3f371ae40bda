"""The waiting list (/staff/chargers/waiting): chargers refused at the handshake, claimed to a site in one
step. The new secret is shown once, on the answer to the claim, and never again."""
from __future__ import annotations

from flask import request
from flask_login import current_user
from sqlalchemy import select

from portal import refusals
from portal.extensions import db_session
from portal.htmx import render
from portal.models import Site, TariffGroup
from portal.services.fleet import onboarding, waiting
from portal.staff import bp
from portal.staff.common import all_sites, staff_area
from portal.staff.fleet_forms import ClaimForm, ResetForm


def _claim_form(identity: str = "") -> ClaimForm:
    form = ClaimForm(identity=identity) if identity else ClaimForm()
    session = db_session()
    form.site.choices = [("", "–")] + [(s.slug, s.name) for s in all_sites()]
    groups = session.execute(select(TariffGroup.id, TariffGroup.name, Site.name).join(Site, Site.id == TariffGroup.site_id)
                             .order_by(Site.name, TariffGroup.name))
    form.tariff_group.choices = [("", "–")] + [(str(gid), f"{site} – {name}") for gid, name, site in groups]
    return form


def _page(status: int = 200, claim=None, form=None):
    session = db_session()
    return render("staff/waiting.html", status=status, rows=waiting.waiting(session),
                  claimed=waiting.claimed_lately(session), claim=claim, form=form, section="waiting")


@bp.route("/chargers/waiting")
@staff_area("support")
def waiting_chargers():
    """The list; ?claim=IDENTITY opens the claim (or secret reset) form of one row below it."""
    claim = waiting.entry(db_session(), request.args.get("claim", "")[:64])
    if claim is None or claim.claimed_at is not None:
        return _page()
    form = ResetForm(identity=claim.identity) if claim.charge_point_id else _claim_form(claim.identity)
    return _page(claim=claim, form=form)


@bp.route("/chargers/waiting/claim", methods=["POST"])
@staff_area("support")
def waiting_claim():
    session = db_session()
    form = _claim_form()
    claim = waiting.entry(session, (form.identity.data or "")[:64])
    if not form.validate_on_submit():
        return _page(422, claim=claim, form=form)
    site = session.scalar(select(Site).where(Site.slug == form.site.data))
    new = onboarding.NewCharger(site=site, name=form.name.data or "", cp_type=form.cp_type.data,
                                connectors=form.connectors.data,
                                tariff_group_id=int(form.tariff_group.data) if form.tariff_group.data else None)
    try:
        done = onboarding.claim_new(session, current_user, form.identity.data, new, form.reason.data)
    except onboarding.ClaimRefused as exc:
        session.rollback()
        form.reason.errors = [refusals.text("fleet", exc.code)]
        return _page(422, claim=waiting.entry(session, form.identity.data), form=form)
    session.commit()
    return _claimed(done)


@bp.route("/chargers/waiting/reset", methods=["POST"])
@staff_area("support")
def waiting_reset():
    session = db_session()
    form = ResetForm()
    claim = waiting.entry(session, (form.identity.data or "")[:64])
    if not form.validate_on_submit():
        return _page(422, claim=claim, form=form)
    try:
        done = onboarding.claim_known(session, current_user, form.identity.data, form.reason.data)
    except onboarding.ClaimRefused as exc:
        session.rollback()
        form.reason.errors = [refusals.text("fleet", exc.code)]
        return _page(422, claim=waiting.entry(session, form.identity.data), form=form)
    session.commit()
    return _claimed(done)


def _claimed(done: onboarding.Claimed):
    response = render("staff/waiting_claimed.html", cp=done.charge_point, secret=done.secret, section="waiting")
    response.headers["Cache-Control"] = "no-store"
    return response
