"""Remote actions: form, confirmation step, then a request the worker carries to the charger.

GET shows the form; a POST without `confirmed` checks the input and shows what will happen (a
secret must be typed again); a POST with `confirmed` asks for it, commits, enqueues and redirects to
the request's page, which follows its state and offers a retry when it did not succeed.
"""
from __future__ import annotations

import logging

from flask import abort, flash, request
from flask_babel import gettext as _
from flask_login import current_user

from portal import refusals, settings
from portal.extensions import db_session, redis_conn
from portal.htmx import hx_redirect, render
from portal.models import ActionRequest, Transaction
from portal.services.charging import actions
from portal.services.charging import action_queue
from portal.services.staff import remote, secret_rotation
from portal.services.people.secrets import hide_secret_values, is_secret_key
from portal.services.staff.remote import RemoteRefused
from portal.staff import bp
from portal.staff.common import charger_or_404, staff_area
from portal.staff.forms import ActionForm, ReasonForm

log = logging.getLogger(__name__)
KINDS = ("start", "stop", "reset", "unlock", "trigger", "get_config", "change_config", "availability")
KIND_RULE = "any(" + ", ".join(KINDS) + ")"


def _missing(kind: str, form: ActionForm) -> bool:
    """Per-action required fields; adds the error to the field and returns True when something is missing."""
    needed = {"start": ("connector", "who"), "unlock": ("connector",), "stop": ("transaction",),
              "change_config": ("key",)}.get(kind, ())
    missing = False
    for name in needed:
        field = getattr(form, name)
        if field.data in (None, ""):
            field.errors = [*field.errors, _("Fill this in.")]
            missing = True
    return missing


def _is_rotation(kind: str, form: ActionForm) -> bool:
    return kind == "change_config" and is_secret_key(form.key.data)


def _normalise_secret_key(kind: str, form: ActionForm) -> None:
    """The AuthorizationKey in any case or spacing is the rotation: its canonical name, and no value
    field (a secret typed there would be echoed on the confirmation page)."""
    if _is_rotation(kind, form):
        form.key.data = remote.SECRET_KEY_NAME
        form.value.data = ""


def _secret_typed_twice(kind: str, form: ActionForm) -> bool:
    """A new AuthorizationKey is made by the portal, or typed on the confirmation step twice; never echoed."""
    if not _is_rotation(kind, form) or form.secret_choice.data != "type":
        return True
    if not form.secret.data:
        form.secret.errors = [_("Enter the new secret.")]
    elif request.form.get("secret_again") != form.secret.data:
        form.secret.errors = [_("The two secrets differ. Type the new secret twice.")]
    return not form.secret.errors


def _perform(kind: str, cp, form: ActionForm) -> remote.Requested:
    session, user, reason = db_session(), current_user, form.reason.data
    if kind == "start":
        return remote.Requested(remote.start(session, user, cp, form.connector.data, form.who.data, reason))
    if kind == "stop":
        tx = session.get(Transaction, form.transaction.data or 0)
        if tx is None or tx.charge_point_id != cp.id:
            raise RemoteRefused("not_active")
        return remote.Requested(remote.stop(session, user, tx, reason))
    if kind == "reset":
        return remote.Requested(remote.reset(session, user, cp, form.reset_type.data, reason))
    if kind == "unlock":
        return remote.Requested(remote.unlock(session, user, cp, form.connector.data, reason))
    if kind == "trigger":
        return remote.Requested(remote.trigger(session, user, cp, form.message.data, form.connector.data, reason))
    if kind == "get_config":
        keys = [k.strip() for k in (form.keys.data or "").split(",") if k.strip()]
        return remote.Requested(remote.get_configuration(session, user, cp, keys, reason))
    if kind == "change_config":
        if _is_rotation(kind, form):
            value = form.secret.data if form.secret_choice.data == "type" else None  # None: a new one is made
        else:
            value = form.value.data
        return remote.change_configuration(session, user, cp, form.key.data, value, reason)
    return remote.Requested(remote.availability(session, user, cp, form.operative.data == "enabled", reason))


def _enqueue(done: remote.Requested) -> None:
    """After the commit: the secret (if any) for the worker, then the job. Redis down: the row says queued."""
    try:
        if done.secret is not None:
            ttl = int(settings.get("action_deadline_s")) + 30
            secret_rotation.stash_secret(redis_conn(), done.row.id, done.secret, ttl)
        action_queue.enqueue_action(redis_conn(), done.row.id)
    except Exception as exc:  # noqa: BLE001 - RedisError or QueueUnavailable: the page shows 'queued'
        log.warning("staff action %s not enqueued: %s", done.row.id, exc)
        flash(_("The request is saved but could not be handed to the worker yet. Try again in a moment."), "error")


@bp.route(f"/chargers/<identity>/actions/<{KIND_RULE}:kind>", methods=["GET", "POST"])
@staff_area("support")
def action(identity: str, kind: str):
    cp = charger_or_404(identity)
    form = ActionForm()
    if request.method == "GET":
        form.connector.data = request.args.get("connector", type=int)
        form.transaction.data = request.args.get("transaction", type=int)
        form.key.data = request.args.get("key", "")
        _normalise_secret_key(kind, form)
        return render("staff/action.html", block="panel", cp=cp, kind=kind, form=form, step="form")
    _normalise_secret_key(kind, form)
    if not form.validate_on_submit() or _missing(kind, form):
        return render("staff/action.html", block="panel", cp=cp, kind=kind, form=form, step="form", status=422)
    if form.confirmed.data != "yes":
        return render("staff/action.html", block="panel", cp=cp, kind=kind, form=form, step="confirm")
    if not _secret_typed_twice(kind, form):
        return render("staff/action.html", block="panel", cp=cp, kind=kind, form=form, step="confirm", status=422)
    session = db_session()
    try:
        done = _perform(kind, cp, form)
    except RemoteRefused as exc:
        session.rollback()
        form.reason.errors = [refusals.text("staff", exc.code)]
        return render("staff/action.html", block="panel", cp=cp, kind=kind, form=form, step="form", status=422)
    session.commit()
    _enqueue(done)
    return hx_redirect("staff.action_request", action_id=done.row.id)


def _staff_request(action_id: int) -> ActionRequest:
    row = db_session().get(ActionRequest, action_id)
    if row is None:
        abort(404)
    return row


@bp.route("/actions/<int:action_id>")
@staff_area("support")
def action_request(action_id: int):
    """One request's state; polls while it is pending. GetConfiguration answers are shown as a table."""
    row = _staff_request(action_id)
    response = hide_secret_values(row.response or {})  # (answers stored before they were blanked on arrival)
    return render("staff/action_request.html", block="request", row=row, cp=row.charge_point,
                  form=ReasonForm(), config=response.get("configurationKey") or [],
                  unknown_keys=response.get("unknownKey") or [])


@bp.route("/actions/<int:action_id>/retry", methods=["POST"])
@staff_area("support")
def action_retry(action_id: int):
    old = _staff_request(action_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        return render("staff/action_request.html", block="request", row=old, cp=old.charge_point, form=form,
                      config=[], unknown_keys=[], status=422)
    session = db_session()
    try:
        row = remote.retry(session, current_user, old, form.reason.data)
    except RemoteRefused as exc:
        session.rollback()
        form.reason.errors = [refusals.text("staff", exc.code)]
        return render("staff/action_request.html", block="request", row=old, cp=old.charge_point, form=form,
                      config=[], unknown_keys=[], status=422)
    session.commit()
    _enqueue(remote.Requested(row))
    return hx_redirect("staff.action_request", action_id=row.id)
