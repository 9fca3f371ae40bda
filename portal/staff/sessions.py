"""Stuck sessions closed by support, and marking orphan stops and meter flags as looked at."""
from __future__ import annotations

from flask import abort, flash
from flask_babel import gettext as _
from flask_login import current_user

from portal.db import utcnow
from portal.extensions import db_session
from portal.htmx import hx_redirect, render
from portal.models import OrphanStop, Transaction
from portal.services import audit
from portal.services.staff import stuck
from portal.services.staff.overview import last_meter_at
from portal.staff.common import bp, refusal, staff_area
from portal.staff.forms import CloseSessionForm, ReasonForm


def _transaction(tx_id: int) -> Transaction:
    tx = db_session().get(Transaction, tx_id)
    if tx is None:
        abort(404)
    return tx


def _render_close(tx: Transaction, form: CloseSessionForm, step: str, status: int = 200):
    last_wh, _at = stuck.last_reading(db_session(), tx)
    return render("staff/close_session.html", block="panel", tx=tx, cp=tx.charge_point, form=form, step=step,
                  last_wh=last_wh, last_at=last_meter_at(db_session(), tx), status=status)


@bp.route("/sessions/<int:tx_id>/close", methods=["GET", "POST"])
@staff_area("support")
def close_session(tx_id: int):
    """Form, confirmation, then the closure (billed at the metered energy, or not billed at all)."""
    tx = _transaction(tx_id)
    form = CloseSessionForm()
    if form.is_submitted() and not tx.is_active:
        form.reason.errors = [refusal("not_active")]
        return _render_close(tx, form, "form", 409)
    if not form.is_submitted():
        return _render_close(tx, form, "form")
    if not form.validate():
        return _render_close(tx, form, "form", 422)
    if form.confirmed.data != "yes":
        return _render_close(tx, form, "confirm")
    session = db_session()
    try:
        stuck.close(session, current_user, tx, end_reading=form.end_reading.data,
                    billed=form.billing.data == "billed", reason=form.reason.data)
    except stuck.CloseRefused as exc:
        session.rollback()
        form.reason.errors = [refusal(exc.code)]
        return _render_close(_transaction(tx_id), form, "form", 409 if exc.code == "not_active" else 422)
    session.commit()
    flash(_("The session is closed and marked as closed by support."), "info")
    return hx_redirect("staff.charger", identity=tx.charge_point.identity)


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
        flash(refusal("reason_required"), "error")
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
