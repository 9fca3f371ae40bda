"""Firmware files, rollouts in waves, and diagnostics files: the fleet pages of the support console."""
from __future__ import annotations

import logging

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.db import utcnow
from portal.extensions import db_session, redis_conn
from portal.models import (
    ChargePoint, DiagnosticsRequest, FirmwareFile, FirmwareRollout, FirmwareUpdate, Site, SupportTicket,
)
from portal.services.charging.action_queue import enqueue_after_commit
from portal.services.fleet import diagnostics, firmware_files, firmware_rollouts
from portal.services.fleet.charger_urls import ChargerLinks
from portal.services.fleet.firmware_files import FirmwareRefused
from portal.services.fleet.firmware_rollouts import RolloutRefused
from portal.services.sites import audit
from portal.staff import bp
from portal.staff.common import charger_or_404, staff_area
from portal.staff.firmware_forms import DiagnosticsForm, FirmwareUploadForm, RolloutForm

log = logging.getLogger(__name__)


def upload_refusal(code: str) -> str:
    return {
        "bad_checksum_format": _("A SHA-256 checksum is 64 characters, 0-9 and a-f."),
        "checksum_mismatch": _("The file's checksum is not the one you typed: the file was not kept. Download "
                               "it again from the vendor, or check the checksum."),
        "too_large": _("The file is larger than this portal takes."),
        "empty": _("The file is empty."),
        "duplicate": _("This model already has a file with that version."),
        "missing_field": _("Fill in vendor, model and version."),
    }.get(code, _("The file was not kept."))


def rollout_refusal(code: str) -> str:
    return {
        "no_chargers": _("No charger to update: none of this model matches, or all run this version already, "
                         "or they are in another rollout."),
        "needs_pilot": _("Update one charger with this file first; a site or the whole model follows once it "
                         "has worked there."),
        "file_damaged": _("The stored file no longer has its checksum; upload it again."),
        "busy": _("That charger is already in a running rollout."),
        "bad_scope": _("Choose what to update."),
        "unknown_charger": _("No charger has that identity."),
        "unknown_site": _("No site has that short name."),
    }.get(code, _("The rollout was not started."))


def _known_models() -> list[tuple[str, str]]:
    return list(db_session().execute(select(ChargePoint.vendor, ChargePoint.model).distinct().where(
        ChargePoint.vendor != "").order_by(ChargePoint.vendor, ChargePoint.model)))


@bp.route("/firmware", methods=["GET", "POST"])
@staff_area("support")
def firmware():
    session = db_session()
    form = FirmwareUploadForm()
    if request.method == "POST":
        request.max_content_length = firmware_files.max_bytes() + 1024 * 1024  # the form around the file
        if form.validate_on_submit():
            upload = form.file.data
            try:
                row = firmware_files.store(session, current_app.config["UPLOAD_DIR"], stream=upload.stream, filename=upload.filename,
                                           vendor=form.vendor.data, model=form.model.data,
                                           version=form.version.data, checksum=form.checksum.data,
                                           notes=form.notes.data or "", user=current_user)
            except FirmwareRefused as refused:
                session.rollback()
                field = form.checksum if refused.code in ("bad_checksum_format", "checksum_mismatch") else form.file
                field.errors = [*field.errors, upload_refusal(refused.code)]
            else:
                audit.record(session, current_user, None, "firmware_file", row.id, "firmware_uploaded",
                             after={"vendor": row.vendor, "model": row.model, "version": row.version,
                                    "sha256": row.sha256, "size": row.size}, area="staff")
                session.commit()
                flash(_("Firmware %(version)s for %(model)s kept; checksum verified.", version=row.version,
                        model=row.model), "success")
                return redirect(url_for("staff.firmware_file", file_id=row.id))
    files = list(session.scalars(select(FirmwareFile).order_by(FirmwareFile.created_at.desc()).limit(100)))
    rollouts = list(session.scalars(select(FirmwareRollout).order_by(FirmwareRollout.id.desc()).limit(30)))
    status = 400 if form.errors else 200
    return render_template("staff/firmware.html", form=form, files=files, rollouts=rollouts,
                           models=_known_models(), section="firmware"), status


@bp.route("/firmware/<int:file_id>", methods=["GET", "POST"])
@staff_area("support")
def firmware_file(file_id: int):
    session = db_session()
    fw = session.get(FirmwareFile, file_id) or abort(404)
    form = RolloutForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            rollout = _start_rollout(session, fw, form)
        except RolloutRefused as refused:
            session.rollback()
            form.scope.errors = [*form.scope.errors, rollout_refusal(refused.code)]
        else:
            action_ids = firmware_rollouts.advance(session, rollout, utcnow(), ChargerLinks.from_app(current_app))
            audit.record(session, current_user, rollout.site_id, "firmware_rollout", rollout.id, "rollout_started",
                         after={"file": fw.id, "version": fw.version, "scope": rollout.scope,
                                "chargers": len(rollout.updates), "wave_size": rollout.wave_size}, area="staff")
            session.commit()
            enqueue_after_commit(redis_conn(), action_ids)
            return redirect(url_for("staff.firmware_rollout", rollout_id=rollout.id))
    chargers = list(session.scalars(select(ChargePoint).where(
        ChargePoint.vendor == fw.vendor, ChargePoint.model == fw.model).order_by(ChargePoint.identity).limit(200)))
    rollouts = list(session.scalars(select(FirmwareRollout).where(FirmwareRollout.firmware_file_id == fw.id)
                                    .order_by(FirmwareRollout.id.desc())))
    status = 400 if form.errors else 200
    return render_template("staff/firmware_file.html", fw=fw, form=form, chargers=chargers, rollouts=rollouts,
                           piloted=firmware_rollouts.piloted(session, fw), section="firmware"), status


def _start_rollout(session, fw: FirmwareFile, form: RolloutForm) -> FirmwareRollout:
    scope, cp_id, site_id = form.scope.data, None, None
    if scope == "charger":
        cp = session.scalar(select(ChargePoint).where(ChargePoint.identity == (form.charger.data or "").strip()))
        if cp is None:
            raise RolloutRefused("unknown_charger")
        cp_id, site_id = cp.id, cp.site_id
    elif scope == "site":
        site = session.scalar(select(Site).where(Site.slug == (form.site.data or "").strip()))
        if site is None:
            raise RolloutRefused("unknown_site")
        site_id = site.id
    return firmware_rollouts.create_rollout(session, fw, current_app.config["UPLOAD_DIR"], scope=scope, user=current_user, site_id=site_id,
                                            charge_point_id=cp_id, wave_size=form.wave_size.data)


@bp.route("/firmware/rollouts/<int:rollout_id>")
@staff_area("support")
def firmware_rollout(rollout_id: int):
    rollout = db_session().get(FirmwareRollout, rollout_id) or abort(404)
    template = "staff/_firmware_progress.html" if request.headers.get("HX-Request") else "staff/firmware_rollout.html"
    return render_template(template, rollout=rollout, section="firmware")


@bp.route("/firmware/rollouts/<int:rollout_id>/<any(stop, resume):verb>", methods=["POST"])
@staff_area("support")
def firmware_rollout_control(rollout_id: int, verb: str):
    session = db_session()
    rollout = session.get(FirmwareRollout, rollout_id) or abort(404)
    reason = (request.form.get("reason") or "").strip()
    if not reason:
        flash(_("Write why you do this: it goes in the audit log."), "error")
        return redirect(url_for("staff.firmware_rollout", rollout_id=rollout.id))
    action_ids: list[int] = []
    if verb == "stop":
        firmware_rollouts.stop(session, rollout, utcnow(), reason)
    else:
        firmware_rollouts.resume(session, rollout)
        action_ids = firmware_rollouts.advance(session, rollout, utcnow(), ChargerLinks.from_app(current_app))
    audit.record(session, current_user, rollout.site_id, "firmware_rollout", rollout.id, f"rollout_{verb}",
                 after={"state": rollout.state}, area="staff", reason=reason[:500])
    session.commit()
    enqueue_after_commit(redis_conn(), action_ids)
    return redirect(url_for("staff.firmware_rollout", rollout_id=rollout.id))


# --- diagnostics -------------------------------------------------------------------------------------

@bp.route("/chargers/<identity>/diagnostics", methods=["POST"])
@staff_area("support")
def charger_diagnostics(identity: str):
    session = db_session()
    cp = charger_or_404(identity)
    form = DiagnosticsForm()
    if not form.validate_on_submit():
        flash(_("The ticket number is not a number."), "error")
        return redirect(url_for("staff.charger", identity=cp.identity) + "#charger-files")
    ticket_id = form.ticket.data
    if ticket_id is not None and session.get(SupportTicket, ticket_id) is None:
        flash(_("No ticket has that number."), "error")
        return redirect(url_for("staff.charger", identity=cp.identity) + "#charger-files")
    row = diagnostics.request_diagnostics(session, current_user, cp, utcnow(), ChargerLinks.from_app(current_app),
                                          ticket_id=ticket_id)
    audit.record(session, current_user, cp.site_id, "charge_point", cp.id, "diagnostics_requested",
                 after={"request": row.id, "ticket": ticket_id}, area="staff")
    session.commit()
    enqueue_after_commit(redis_conn(), [row.action_request_id])
    flash(_("Diagnostics asked for: the file appears here once the charger has uploaded it."), "success")
    return redirect(url_for("staff.charger", identity=cp.identity) + "#charger-files")


@bp.route("/diagnostics/<int:request_id>/file")
@staff_area("support")
def diagnostics_file(request_id: int):
    row = db_session().get(DiagnosticsRequest, request_id) or abort(404)
    path = diagnostics.path_of(row, current_app.config["UPLOAD_DIR"])
    if path is None:
        abort(404)
    response = send_file(path, mimetype="application/octet-stream", as_attachment=True,
                         download_name=f"{row.charge_point.identity}-{row.filename}")
    response.headers["Cache-Control"] = "no-store"
    return response


def charger_files_context(cp: ChargePoint) -> dict:
    """What the staff charger page shows of firmware and diagnostics (templates/staff/_charger_files.html)."""
    session = db_session()
    updates = list(session.scalars(select(FirmwareUpdate).where(FirmwareUpdate.charge_point_id == cp.id)
                                   .order_by(FirmwareUpdate.id.desc()).limit(5)))
    requests = list(session.scalars(select(DiagnosticsRequest).where(DiagnosticsRequest.charge_point_id == cp.id)
                                    .order_by(DiagnosticsRequest.id.desc()).limit(5)))
    return {"firmware_updates": updates, "diagnostics_requests": requests, "diagnostics_form": DiagnosticsForm()}


bp.add_app_template_global(charger_files_context, "staff_charger_files")
