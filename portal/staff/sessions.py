"""Stuck sessions (the charger asked first, closed by hand only when it cannot stop them), sessions closed by
hand that the charger still reports, and marking orphan stops and meter flags as looked at."""
from __future__ import annotations

from flask import abort, flash
from flask_babel import gettext as _
from flask_login import current_user

from portal import refusals
from portal.db import utcnow
from sqlalchemy.exc import IntegrityError

from portal.extensions import db_session, redis_conn
from portal.htmx import hx_redirect, render
from portal.models import OrphanStop, Transaction
from portal.services.charging import actions, after_close
from portal.services.sites import audit
from portal.services.charging import action_queue
from portal.services.staff import remote, stuck
from portal.services.staff.overview import last_meter_at
from portal.staff import bp
from portal.staff.common import staff_area
from portal.staff.forms import CloseSessionForm, EmptyForm, ReasonForm


def _transaction(tx_id: int) -> Transaction:
    tx = db_session().get(Transaction, tx_id)
    if tx is None:
        abort(404)
    return tx


def _render_close(tx: Transaction, form: CloseSessionForm, step: str, status: int = 200,
                  ask_form: ReasonForm | None = None):
    session = db_session()
    last_wh, _at = stuck.last_reading(session, tx)
    decision = stuck.decide(session, tx) if tx.is_active else None
    return render("staff/close_session.html", block="panel", tx=tx, cp=tx.charge_point, form=form, step=step,
                  last_wh=last_wh, last_at=last_meter_at(session, tx), decision=decision,
                  ask_form=ask_form or ReasonForm(formdata=None),
                  recent_minutes=int(stuck.RECENT_REPORT.total_seconds() // 60), status=status)


@bp.route("/sessions/<int:tx_id>/close", methods=["GET", "POST"])
@staff_area("support")
def close_session(tx_id: int):
    """The charger is asked first; closing by hand (form, confirmation, closure) only when it cannot stop it."""
    tx = _transaction(tx_id)
    form = CloseSessionForm()
    if form.is_submitted() and not tx.is_active:
        form.reason.errors = [refusals.text("staff", "not_active")]
        return _render_close(tx, form, "form", 409)
    if not form.is_submitted():
        return _render_close(tx, form, "form")
    if not form.validate():
        return _render_close(tx, form, "form", 422)
    problem = stuck.hand_close_problem(stuck.decide(db_session(), tx), form.override.data, form.override_reason.data)
    if problem:
        (form.override if problem == "override_required" else form.reason).errors = [refusals.text("staff", problem)]
        return _render_close(tx, form, "form", 422)
    if form.confirmed.data != "yes":
        return _render_close(tx, form, "confirm")
    session = db_session()
    try:
        stuck.close(session, current_user, tx, end_reading=form.end_reading.data,
                    billed=form.billing.data == "billed", reason=form.reason.data,
                    resident_reason=form.resident_reason.data, override=form.override.data,
                    override_reason=form.override_reason.data)
    except stuck.CloseRefused as exc:
        session.rollback()
        form.reason.errors = [refusals.text("staff", exc.code)]
        return _render_close(_transaction(tx_id), form, "form", 409 if exc.code == "not_active" else 422)
    session.commit()
    flash(_("The session is closed and marked as closed by support."), "info")
    return hx_redirect("staff.charger", identity=tx.charge_point.identity)


@bp.route("/sessions/<int:tx_id>/close/ask", methods=["POST"])
@staff_area("support")
def close_session_ask(tx_id: int):
    """Ask the charger to stop the session (RemoteStopTransaction): it then closes from its own stop."""
    tx = _transaction(tx_id)
    ask = ReasonForm()
    blank = CloseSessionForm(formdata=None)
    if not tx.is_active:
        return _render_close(tx, blank, "form", 409)
    if not ask.validate_on_submit():
        ask.reason.errors = [refusals.text("staff", "reason_required")]
        return _render_close(tx, blank, "form", 422, ask_form=ask)
    session = db_session()
    try:
        row = remote.stop(session, current_user, tx, ask.reason.data)
        session.flush()
    except (remote.RemoteRefused, IntegrityError) as exc:
        session.rollback()
        ask.reason.errors = [refusals.text("staff", getattr(exc, "code", "still_pending"))]
        return _render_close(_transaction(tx_id), blank, "form", 422, ask_form=ask)
    session.commit()
    _enqueue_stop(row.id)
    return _render_close(tx, blank, "form")


def _enqueue_stop(action_id: int) -> None:
    """After the commit; with Redis away the request stays queued (the page says so) and can be retried."""
    try:
        action_queue.enqueue_action(redis_conn(), action_id)
    except actions.QueueUnavailable:
        flash(_("The request is saved but could not be handed to the worker yet. Try again in a moment."), "error")


@bp.route("/sessions/<int:tx_id>/stop-after-close", methods=["POST"])
@staff_area("support")
def after_close_stop(tx_id: int):
    """One step: RemoteStopTransaction for a session closed by hand that the charger still reports."""
    tx = _transaction(tx_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    session = db_session()
    try:
        row = after_close.request_stop(session, current_user, tx)
    except actions.ActionRefused as exc:
        session.rollback()
        flash(refusals.text("staff", exc.reason), "error")
        return hx_redirect("staff.charger", identity=tx.charge_point.identity)
    session.commit()
    _enqueue_stop(row.id)
    return hx_redirect("staff.action_request", action_id=row.id)


@bp.route("/sessions/<int:tx_id>/after-close-reviewed", methods=["POST"])
@staff_area("support")
def after_close_reviewed(tx_id: int):
    """Support looked at the energy the charger reported after a hand close (never billed by itself)."""
    tx = _transaction(tx_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(refusals.text("staff", "reason_required"), "error")
        return hx_redirect("staff.index")
    after_close.mark_reviewed(db_session(), current_user, tx, form.reason.data)
    db_session().commit()
    flash(_("Marked as looked at."), "info")
    return hx_redirect("staff.index")


@bp.route("/orphan-stops/<int:orphan_id>/reviewed", methods=["POST"])
@staff_area("support")
def orphan_reviewed(orphan_id: int):
    """A stop nobody could match has been looked at: it leaves the overview (the row stays)."""
    row = db_session().get(OrphanStop, orphan_id)
    if row is None:
        abort(404)
    return _mark_reviewed(row, "orphan_stop", row.charge_point_id, "reviewed_at")


@bp.route("/sessions/<int:tx_id>/flag-reviewed", methods=["POST"])
@staff_area("support")
def flag_reviewed(tx_id: int):
    tx = _transaction(tx_id)
    return _mark_reviewed(tx, "transaction", tx.charge_point_id, "flag_reviewed_at")


def _mark_reviewed(row, entity: str, cp_id: int, column: str):
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(refusals.text("staff", "reason_required"), "error")
        return hx_redirect("staff.index")
    session = db_session()
    from portal.models import ChargePoint

    cp = session.get(ChargePoint, cp_id)
    if getattr(row, column) is None:
        setattr(row, column, utcnow())
        audit.record(session, current_user, cp.site_id if cp else None, entity, row.id, "reviewed",
                     area="staff", reason=form.reason.data)
    session.commit()
    flash(_("Marked as looked at."), "info")
    return hx_redirect("staff.index")
