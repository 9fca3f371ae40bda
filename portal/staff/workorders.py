"""Work orders in the staff console: list, create from a ticket or an incident, send the technician's
link, follow, close (with the proof or a reason) and cancel."""
from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import refusals
from portal.extensions import db_session, redis_conn
from portal.htmx import hx_redirect, redirect_to, render
from portal.models import ChargePoint, Incident, SupportTicket, WorkOrder
from portal.services.people.mail import enqueue_outbox
from portal.services.workorders import orders
from portal.services.workorders.states import OPEN, TransitionError
from portal.staff import bp
from portal.staff.common import staff_area
from portal.staff.workorder_forms import CancelForm, CloseForm, SendForm, WorkOrderForm
from portal.technician import send_work_photo


def _order(wo_id: int) -> WorkOrder:
    order = db_session().get(WorkOrder, wo_id)
    if order is None:
        abort(404)
    return order


@bp.route("/workorders")
@staff_area("support")
def workorders():
    show = request.args.get("show", "open")
    rows = orders.site_orders(db_session(), statuses=OPEN if show == "open" else None)
    return render("staff/workorders/list.html", orders=rows, show=show, section="workorders")


def _source() -> dict:
    """?ticket=ID or ?incident=ID: what the new work order starts with (404 for an unknown one)."""
    s = db_session()
    for name, model, draft in (("ticket", SupportTicket, orders.draft_from_ticket),
                               ("incident", Incident, orders.draft_from_incident)):
        value = request.args.get(name, "")
        if value:
            found = s.get(model, int(value)) if value.isdigit() else None
            if found is None:
                abort(404)
            return draft(found)
    return {}


@bp.route("/workorders/new", methods=["GET", "POST"])
@staff_area("support")
def workorder_new():
    source = _source()
    s = db_session()
    cp = s.get(ChargePoint, source["charge_point_id"]) if source.get("charge_point_id") else None
    form = WorkOrderForm(story=source.get("story", ""), charger=cp.identity if cp else "")
    if form.validate_on_submit():
        cp = s.scalar(select(ChargePoint).where(ChargePoint.identity == form.charger.data))
        if cp is None:
            form.charger.errors = [_("No charger has that identity.")]
        else:
            fields = {k: getattr(form, k).data for k in orders.EDITABLE}
            order = orders.create(s, current_user, cp, ticket_id=source.get("ticket_id"),
                                  incident_id=source.get("incident_id"), **fields)
            s.commit()
            flash(_("Work order %(ref)s saved as a draft.", ref=order.reference), "success")
            return hx_redirect("staff.workorder", wo_id=order.id)
    return render("staff/workorders/new.html", status=422 if form.errors else 200, form=form, source=source,
                  section="workorders")


def _page(order: WorkOrder, status: int = 200, refusal: str | None = None, **forms):
    s = db_session()
    return render("staff/workorders/order.html", status=status, order=order, refusal=refusal,
                  seen_working=orders.seen_working_at(s, order), send_form=SendForm(formdata=None),
                  close_form=forms.get("close") or CloseForm(formdata=None),
                  cancel_form=forms.get("cancel") or CancelForm(formdata=None), open_statuses=OPEN,
                  section="workorders")


@bp.route("/workorders/<int:wo_id>")
@staff_area("support")
def workorder(wo_id: int):
    return _page(_order(wo_id))


@bp.route("/workorders/<int:wo_id>/send", methods=["POST"])
@staff_area("support")
def workorder_send(wo_id: int):
    order = _order(wo_id)
    if not SendForm().validate_on_submit():
        abort(400)
    s = db_session()
    try:
        sent = orders.send(s, order)
    except TransitionError as exc:
        s.rollback()
        return _page(order, 409, refusals.text("workorder", exc.code))
    except ValueError:
        s.rollback()
        return _page(order, 422, refusals.text("workorder", "no_email"))
    s.commit()
    enqueue_outbox(redis_conn(), [sent.outbox.id])
    flash(_("The work order was sent to %(email)s.", email=order.technician_email), "success")
    return redirect_to(url_for("staff.workorder", wo_id=order.id))


def _finish(wo_id: int, form, step, done_text: str):
    order = _order(wo_id)
    if not form.validate_on_submit():
        return _page(order, 422, **{"close" if isinstance(form, CloseForm) else "cancel": form})
    s = db_session()
    try:
        step(s, order, form.reason.data or "")
    except TransitionError as exc:
        s.rollback()
        return _page(s.get(WorkOrder, wo_id), 409, refusals.text("workorder", exc.code),
                     **{"close" if isinstance(form, CloseForm) else "cancel": form})
    s.commit()
    flash(done_text, "success")
    return redirect_to(url_for("staff.workorder", wo_id=order.id))


@bp.route("/workorders/<int:wo_id>/close", methods=["POST"])
@staff_area("support")
def workorder_close(wo_id: int):
    return _finish(wo_id, CloseForm(), orders.close, _("The work order is done."))


@bp.route("/workorders/<int:wo_id>/cancel", methods=["POST"])
@staff_area("support")
def workorder_cancel(wo_id: int):
    return _finish(wo_id, CancelForm(), orders.cancel, _("The work order is cancelled."))


@bp.route("/workorders/<int:wo_id>/photos/<int:photo_id>")
@staff_area("support")
def workorder_photo(wo_id: int, photo_id: int):
    return send_work_photo(_order(wo_id), photo_id)
