"""Payments in the staff console (support and admins): upload the bank's camt.054 file, follow payments
(unmatched, suggested, part-paid and overpaid statements), put a payment on a statement, settle an
overpayment, and see overdue statements with promises to pay."""
from __future__ import annotations

from datetime import date, datetime, timezone

from flask import current_app, flash, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import refusals
from portal.extensions import db_session
from portal.htmx import hx_redirect, render
from portal.models import BankFile, Payment, Statement
from portal.services.payments import bank_files, camt054, reminders, surplus, terms as payment_terms
from portal.staff import bp
from portal.staff.common import staff_area
from portal.staff.payment_forms import AssignForm, BankFileForm, DeclineForm, PromiseForm, SurplusForm

FILTERS = ("unmatched", "suggested", "part_paid", "overpaid", "all")


def _rows(show: str) -> tuple[list[Payment], list[Statement]]:
    s = db_session()
    if show in ("part_paid", "overpaid"):
        return [], list(s.scalars(select(Statement).where(Statement.paid_state == show).order_by(Statement.id.desc())
                                  .limit(200)))
    query = select(Payment).order_by(Payment.booked_on.desc(), Payment.id.desc()).limit(200)
    if show != "all":
        query = query.where(Payment.state == show)
    return list(s.scalars(query)), []


def _page(status: int = 200, **forms):
    show = request.args.get("show", "unmatched")
    show = show if show in FILTERS else "unmatched"
    payments, statements = _rows(show)
    files = list(db_session().scalars(select(BankFile).order_by(BankFile.id.desc()).limit(10)))
    return render("staff/payments.html", status=status, show=show, filters=FILTERS, payments=payments,
                  statements=statements, files=files, section="payments",
                  upload_form=forms.get("upload") or BankFileForm(formdata=None),
                  assign_form=forms.get("assign") or AssignForm(formdata=None),
                  decline_form=DeclineForm(formdata=None), surplus_form=forms.get("surplus") or SurplusForm(formdata=None))


@bp.route("/payments")
@staff_area("support")
def payments():
    return _page()


@bp.route("/payments/upload", methods=["POST"])
@staff_area("support")
def payments_upload():
    form = BankFileForm()
    if not form.validate_on_submit():
        return _page(422, upload=form)
    upload = form.bank_file.data
    if upload is None or not getattr(upload, "filename", ""):
        form.bank_file.errors = [_("Choose the bank's camt.054 file.")]
        return _page(422, upload=form)
    limit = current_app.config["BANK_FILE_MAX_BYTES"]
    data = upload.read(limit + 1)
    try:
        done = bank_files.upload(db_session(), data, upload.filename, current_user, payment_terms.load(), limit)
    except camt054.CamtError as exc:
        form.bank_file.errors = [str(refusals.BANK_FILES[exc.code])]
        return _page(422, upload=form)
    if done.already:
        flash(_("This bank file was recorded before: nothing was recorded again."), "info")
    else:
        flash(_("Bank file recorded: %(new)s payments, %(matched)s matched to their statement, %(suggested)s to "
                "confirm.", new=done.recorded, matched=done.matched, suggested=done.suggested), "success")
    return hx_redirect("staff.payments", show="suggested" if done.suggested else "unmatched")


def _payment(form) -> Payment | None:
    return db_session().get(Payment, form.payment_id.data) if form.payment_id.data else None


@bp.route("/payments/assign", methods=["POST"])
@staff_area("support")
def payment_assign():
    form, s = AssignForm(), db_session()
    if not form.validate_on_submit() or _payment(form) is None:
        form.payment_id.errors = form.payment_id.errors or [_("Choose a payment.")]
        return _page(422, assign=form)
    payment = _payment(form)
    st = (s.scalar(select(Statement).where(Statement.number == form.number.data)) if form.number.data
          else payment.suggested)
    if st is None:
        form.number.errors = [_("No statement has that number.")]
        return _page(422, assign=form)
    try:
        bank_files.assign(s, current_user, payment, st)
    except bank_files.PaymentError as exc:
        form.number.errors = [str(refusals.PAYMENTS[str(exc)])]
        return _page(422, assign=form)
    s.commit()
    flash(_("Payment put on statement %(number)s.", number=st.number), "success")
    return hx_redirect("staff.payments", show="suggested")


@bp.route("/payments/decline", methods=["POST"])
@staff_area("support")
def payment_decline():
    form, s = DeclineForm(), db_session()
    payment = _payment(form) if form.validate_on_submit() else None
    if payment is None:
        flash(_("Choose a payment."), "error")
        return _page(422)
    try:
        bank_files.decline(s, current_user, payment)
    except bank_files.PaymentError as exc:
        flash(str(refusals.PAYMENTS[str(exc)]), "error")
        return _page(422)
    s.commit()
    return hx_redirect("staff.payments", show="suggested")


@bp.route("/payments/surplus", methods=["POST"])
@staff_area("support")
def payment_surplus():
    form, s = SurplusForm(), db_session()
    st = s.get(Statement, form.statement_id.data) if form.validate_on_submit() and form.statement_id.data else None
    if st is None:
        form.statement_id.errors = [_("Choose a statement.")]
        return _page(422, surplus=form)
    try:
        surplus.settle(s, current_user, st, form.action.data)
    except surplus.SurplusError as exc:
        form.action.errors = [str(refusals.PAYMENTS[str(exc)])]
        return _page(422, surplus=form)
    s.commit()
    flash(_("Overpayment of statement %(number)s settled.", number=st.number), "success")
    return hx_redirect("staff.payments", show="overpaid")


def _overdue_page(status: int = 200, form: PromiseForm | None = None):
    today = datetime.now(timezone.utc).date()
    rows = list(db_session().scalars(select(Statement).where(
        Statement.paid_state.in_(("unpaid", "part_paid")), Statement.due_on.is_not(None))
        .order_by(Statement.due_on, Statement.id).limit(500)))
    return render("staff/overdue.html", status=status, rows=rows, today=today, section="overdue",
                  form=form or PromiseForm(formdata=None))


@bp.route("/payments/overdue")
@staff_area("support")
def overdue():
    return _overdue_page()


@bp.route("/payments/overdue/promise", methods=["POST"])
@staff_area("support")
def overdue_promise():
    form, s = PromiseForm(), db_session()
    st = None
    if form.validate_on_submit():
        st = s.get(Statement, int(form.statement_id.data)) if form.statement_id.data.isdigit() else None
        if st is None or st.paid_state not in ("unpaid", "part_paid"):
            form.statement_id.errors = [_("Choose a statement that is still to be paid.")]
        elif form.until.data < date.today():
            form.until.errors = [_("The date must be today or later.")]
        else:
            reminders.note_promise(s, current_user, st, form.until.data, form.note.data)
            s.commit()
            flash(_("Promise to pay noted for statement %(number)s.", number=st.number), "success")
            return hx_redirect("staff.overdue")
    return _overdue_page(422, form)
