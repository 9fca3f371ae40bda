"""The quote request: stored as a lead, confirmed to the requester, announced to sales.

Spam protection without third parties: a honeypot field and a rate limit per address (Flask-Limiter).
"""
from __future__ import annotations

from flask import current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.auth.limits import limiter
from portal.extensions import db_session, redis_conn
from portal import phones
from portal.forms_common import e164
from portal.htmx import redirect_to, render
from portal.models import Site
from portal.sales import bp
from portal.sales.forms import KIND_LABELS, QuoteForm
from portal.services.sales import leads
from portal.services.people.mail import enqueue_outbox
from portal.web import current_language

QUOTE_LIMIT = "5 per hour; 20 per day"  # per address: a board sends one, a bot many
KIND_FROM_SITE = {"borettslag": "housing_cooperative", "brf": "housing_cooperative", "sameie": "condominium",
                  "commercial": "commercial"}


def _prefill(form: QuoteForm) -> None:
    """?site=<slug>: the cooperative found in the ordering portal; ?kind=: what the board wants."""
    slug = request.args.get("site", "")[:80]
    site = db_session().scalar(select(Site).where(Site.slug == slug)) if slug else None
    if site is not None:
        form.site.data = site.slug
        form.org_name.data = site.name
        form.org_number.data = site.org_number
        form.org_type.data = KIND_FROM_SITE.get(site.kind, "other")
    if request.args.get("kind") in KIND_LABELS:
        form.kind.data = request.args["kind"]
    if current_user.is_authenticated:
        form.contact_name.data, form.email.data = current_user.name, current_user.email
        form.phone.data = phones.display(current_user.phone or "")


def _too_many(_limit):
    """Over the limit: the form again with what was typed and why it was not sent (429)."""
    return render("sales/quote.html", block="quote_form", status=429, form=QuoteForm(), rate_limited=True)


@bp.route("/contact/sales", methods=["GET", "POST"])
@limiter.limit(QUOTE_LIMIT, methods=["POST"], on_breach=_too_many)
def contact():
    form = QuoteForm()
    if request.method == "GET":
        _prefill(form)
        return render("sales/quote.html", block="quote_form", form=form)
    if not form.validate_on_submit():
        return render("sales/quote.html", block="quote_form", status=422, form=form)
    session = db_session()
    site = session.scalar(select(Site).where(Site.slug == (form.site.data or "")[:80])) if form.site.data else None
    lead = leads.create_lead(session, leads.LeadRequest(
        org_type=form.org_type.data, org_name=form.org_name.data, org_number=form.org_number.data,
        contact_name=form.contact_name.data, contact_role=form.contact_role.data or "", email=form.email.data,
        phone=e164(form.phone), parking_spaces=form.parking_spaces.data, kind=form.kind.data,
        message=form.message.data or "", language=current_language(), site_id=site.id if site else None,
    ), requester=current_user if current_user.is_authenticated else None)
    mails = leads.queue_lead_emails(session, lead, current_app.config["SALES_EMAIL"],
                                    current_app.config["SALES_LANGUAGE"])
    session.commit()
    enqueue_outbox(redis_conn(), [m.id for m in mails])  # Redis down: rows stay queued, sent later
    flash(_("Thank you! Sales will contact you soon. We have sent a confirmation to %(email)s.",
            email=lead.email), "success")
    return redirect_to(url_for("sales.contact_sent"))


@bp.route("/contact/sales/sent")
def contact_sent():
    return render("sales/quote_sent.html")
