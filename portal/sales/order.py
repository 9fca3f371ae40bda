"""Ordering a charger: find the cooperative, read how ordering works there, and order.

A cooperative without an operating agreement tells the resident to talk to their board and gives
the board its way in (the quote form, pre-filled). Orders are visible to the resident who placed
them (signed in), to the holder of the confirmation e-mail's private link, and to sales.
"""
from __future__ import annotations

from flask import abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.validators import InputRequired

from portal.auth.limits import limiter
from portal.extensions import db_session, redis_conn
from portal import phones
from portal.forms_common import e164
from portal.htmx import redirect_to, render
from portal.models import ChargerOrder, Site
from portal.sales import bp
from portal.sales.forms import ORDER_STATUS_LABELS, OrderForm
from portal.services.sales import orders
from portal.services.people.mail import enqueue_outbox, portal_url
from portal.services.sales.site_search import search_sites
from portal.services.helpdesk.tokens import private_link_used
from portal.web import current_language

ORDER_LIMIT = "10 per hour; 30 per day"  # per address


@bp.route("/order")
def order():
    """Search by name, address, postcode, city or org number; htmx gets only the results (as you type)."""
    query = request.args.get("q", "")[:100]
    results = search_sites(db_session(), query) if query.strip() else []
    mine = orders.orders_of(db_session(), current_user) if current_user.is_authenticated else []
    return render("sales/order_search.html", block="results", query=query, results=results, my_orders=mine,
                  status_labels=ORDER_STATUS_LABELS)


def _site(slug: str) -> Site:
    site = db_session().scalar(select(Site).where(Site.slug == slug))
    if site is None:
        abort(404)
    return site


def _form(site: Site) -> OrderForm:
    form = OrderForm()
    models = orders.offered_models(site)
    form.charger_model.choices = [(m, m) for m in models] or [("", _("The model offered here"))]
    if models:  # a site that offers models needs one of them; empty is not "any"
        form.charger_model.validators = [InputRequired(message=_("Choose one of the chargers offered here."))]
    if request.method == "GET" and current_user.is_authenticated:
        form.name.data, form.email.data = current_user.name, current_user.email
        form.phone.data = phones.display(current_user.phone or "")
    return form


def _site_page(site: Site, form: OrderForm, status: int = 200, **extra):
    return render("sales/order_site.html", block="order_form", status=status, site=site, form=form,
                  can_order=orders.can_order(site), models=orders.offered_models(site),
                  included=orders.included_items(site), **extra)


def _too_many(_limit):
    """Over the limit: the form again with what was typed and why it was not sent (429)."""
    site = _site(request.view_args.get("slug", ""))
    return _site_page(site, _form(site), 429, rate_limited=True)


@bp.route("/order/<slug>", methods=["GET", "POST"])
@limiter.limit(ORDER_LIMIT, methods=["POST"], on_breach=_too_many)
def order_site(slug: str):
    site = _site(slug)
    form = _form(site)
    if request.method == "GET" or not orders.can_order(site):
        return _site_page(site, form, 200 if request.method == "GET" else 422)
    if not form.validate_on_submit():
        return _site_page(site, form, 422)
    session = db_session()
    try:
        placed = orders.place_order(
            session, site, name=form.name.data, email=form.email.data, phone=e164(form.phone),
            parking_space=form.parking_space.data, charger_model=form.charger_model.data or "",
            language=current_language(), user=current_user if current_user.is_authenticated else None)
    except orders.OrderError:  # the offer changed between page and post: say so on the form
        form.charger_model.errors = [_("Choose one of the chargers offered here.")]
        return _site_page(site, form, 422)
    link = portal_url("sales.order_by_token", token=placed.token)
    mails = orders.queue_order_emails(session, placed.order, link, current_app.config["SALES_EMAIL"],
                                      current_app.config["SALES_LANGUAGE"])
    session.commit()
    enqueue_outbox(redis_conn(), [m.id for m in mails])  # Redis down: rows stay queued, sent later
    flash(_("Thank you! Your order is received. We have sent a confirmation to %(email)s.",
            email=placed.order.email), "success")
    return redirect_to(url_for("sales.order_by_token", token=placed.token))


def _order_page(o: ChargerOrder):
    return render("sales/order_status.html", order=o, status_labels=ORDER_STATUS_LABELS)


@bp.route("/order/orders/<int:order_id>")
@login_required
def order_status(order_id: int):
    o = db_session().get(ChargerOrder, order_id)
    if o is None or not orders.can_view(current_user, o):
        abort(404)
    return _order_page(o)


@bp.route("/order/o/<token>")
def order_by_token(token: str):
    o = orders.order_by_token(db_session(), token)
    if o is None:
        abort(404)
    private_link_used(o)
    return _order_page(o)
