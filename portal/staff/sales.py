"""Sales pipelines: quote requests (leads) and charger orders, filtered lists and one page each."""
from __future__ import annotations

import re
from datetime import date

from flask import abort, flash, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import refusals
from portal.extensions import db_session, redis_conn
from portal.htmx import hx_redirect, render
from portal.models import ChargerOrder, Lead, User
from portal.services.people.mail import enqueue_outbox
from portal.services.staff import pipeline
from portal.services.staff.pipeline import PipelineError
from portal.staff import bp, sales_words
from portal.staff.common import staff_area
from portal.staff.forms import LeadForm, NewSiteForm, OrderForm, PipelineFilterForm

def sales_staff() -> list[User]:
    return list(db_session().scalars(select(User).where(User.staff_role.in_(("sales", "admin")),
                                                        User.active.is_(True)).order_by(User.email)))


def _assignee_choices() -> list[tuple[str, str]]:
    return [("", _("Nobody"))] + [(str(u.id), u.email) for u in sales_staff()]


def _assignee(value: str | None) -> User | None:
    if not value or not value.isdigit():
        return None
    return db_session().get(User, int(value))


def _filters(statuses: dict) -> PipelineFilterForm:
    form = PipelineFilterForm(request.args)
    form.status.choices = [("", _("All"))] + list(statuses.items())
    form.assignee.choices = [("", _("Anyone")), ("me", _("Me")), ("none", _("Nobody"))] + _assignee_choices()[1:]
    return form


def _filtered(model, form: PipelineFilterForm, has_due: bool):
    query = select(model)
    if form.status.data:
        query = query.where(model.status == form.status.data)
    choice = form.assignee.data or ""
    if choice == "me":
        query = query.where(model.assignee_id == current_user.id)
    elif choice == "none":
        query = query.where(model.assignee_id.is_(None))
    elif choice.isdigit():
        query = query.where(model.assignee_id == int(choice))
    if has_due and form.due.data:
        query = query.where(model.next_step_on.is_not(None), model.next_step_on <= date.today())
    order = (model.next_step_on.is_(None), model.next_step_on, model.id.desc()) if has_due else (model.id.desc(),)
    return list(db_session().scalars(query.order_by(*order).limit(300)))


def lead_statuses() -> dict[str, str]:
    return {code: str(text) for code, text in sales_words.LEAD_STATUS.items()}


def order_statuses() -> dict[str, str]:
    return {code: str(text) for code, text in sales_words.ORDER_STATUS.items()}


@bp.route("/leads")
@staff_area("sales")
def leads():
    form = _filters(lead_statuses())
    return render("staff/leads.html", block="list", form=form, rows=_filtered(Lead, form, True),
                  labels=lead_statuses(), section="leads", **sales_words.words())


def _lead(lead_id: int) -> Lead:
    lead = db_session().get(Lead, lead_id)
    if lead is None:
        abort(404)
    return lead


def _site_form(lead: Lead) -> NewSiteForm:
    form = NewSiteForm()
    if not form.is_submitted():
        form.name.data, form.org_number.data = lead.org_name, lead.org_number
        form.slug.data = re.sub(r"[^a-z0-9]+", "-", lead.org_name.lower()).strip("-")[:80]
        form.currency.data = "SEK" if lead.country == "SE" else "NOK"
        form.price_area.data = "SE3" if lead.country == "SE" else "NO1"
    return form


def _lead_page(lead: Lead, form: LeadForm | None = None, site_form: NewSiteForm | None = None, status: int = 200):
    if form is None:
        form = LeadForm(obj=lead)
        form.assignee.data = str(lead.assignee_id or "")
    form.assignee.choices = _assignee_choices()
    return render("staff/lead.html", lead=lead, form=form, site_form=site_form or _site_form(lead),
                  labels=lead_statuses(), section="leads", status=status,
                  **sales_words.words())


@bp.route("/leads/<int:lead_id>", methods=["GET", "POST"])
@staff_area("sales")
def lead(lead_id: int):
    row = _lead(lead_id)
    if request.method == "GET":
        return _lead_page(row)
    form = LeadForm()
    form.assignee.choices = _assignee_choices()
    if not form.validate_on_submit():
        return _lead_page(row, form, status=422)
    session = db_session()
    change = pipeline.LeadUpdate(form.status.data, _assignee(form.assignee.data), form.notes.data or "",
                                 form.next_step_on.data)
    try:
        pipeline.update_lead(session, current_user, row, change, form.reason.data or "")
    except PipelineError as exc:
        session.rollback()
        form.status.errors = [refusals.text("pipeline", exc.code)]
        return _lead_page(_lead(lead_id), form, status=422)
    session.commit()
    flash(_("Saved."), "info")
    return hx_redirect("staff.lead", lead_id=row.id)


@bp.route("/leads/<int:lead_id>/site", methods=["POST"])
@staff_area("sales")
def lead_site(lead_id: int):
    """A won lead becomes a site (agreement active) in one step."""
    row = _lead(lead_id)
    form = _site_form(row)
    if not form.validate_on_submit():
        return _lead_page(row, site_form=form, status=422)
    data = pipeline.NewSite(form.name.data, form.slug.data.strip(), form.org_number.data, form.address.data,
                            form.city.data or "", form.price_area.data, form.currency.data, form.postcode.data or "")
    session = db_session()
    try:
        site = pipeline.site_from_lead(session, current_user, row, data)
    except PipelineError as exc:
        session.rollback()
        target = getattr(form, exc.field, None) if exc.field else None
        (target or form.name).errors = [refusals.text("pipeline", exc.code)]
        return _lead_page(_lead(lead_id), site_form=form, status=422)
    session.commit()
    flash(_("The site %(name)s is created.", name=site.name), "info")
    return hx_redirect("staff.lead", lead_id=row.id)


@bp.route("/orders")
@staff_area("sales")
def orders():
    form = _filters(order_statuses())
    return render("staff/orders.html", block="list", form=form, rows=_filtered(ChargerOrder, form, False),
                  labels=order_statuses(), section="orders", **sales_words.words())


def _order(order_id: int) -> ChargerOrder:
    order = db_session().get(ChargerOrder, order_id)
    if order is None:
        abort(404)
    return order


def _order_page(order: ChargerOrder, form: OrderForm | None = None, status: int = 200):
    if form is None:
        form = OrderForm(obj=order)
        form.assignee.data = str(order.assignee_id or "")
    form.assignee.choices = _assignee_choices()
    return render("staff/order.html", order=order, form=form, labels=order_statuses(), section="orders",
                  status=status, **sales_words.words())


@bp.route("/orders/<int:order_id>", methods=["GET", "POST"])
@staff_area("sales")
def order(order_id: int):
    """Status, owner and notes; a new status is e-mailed to the requester in their language."""
    row = _order(order_id)
    if request.method == "GET":
        return _order_page(row)
    form = OrderForm()
    form.assignee.choices = _assignee_choices()
    if not form.validate_on_submit():
        return _order_page(row, form, status=422)
    session = db_session()
    change = pipeline.OrderUpdate(form.status.data, _assignee(form.assignee.data), form.notes.data or "")
    try:
        outbox = pipeline.update_order(session, current_user, row, change, form.reason.data or "")
    except PipelineError as exc:
        session.rollback()
        form.status.errors = [refusals.text("pipeline", exc.code)]
        return _order_page(_order(order_id), form, status=422)
    session.commit()
    if outbox is not None:
        enqueue_outbox(redis_conn(), [outbox.id])
        flash(_("Saved, and %(email)s is told by e-mail.", email=row.email), "info")
    else:
        flash(_("Saved."), "info")
    return hx_redirect("staff.order", order_id=row.id)
