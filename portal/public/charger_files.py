"""Files chargers fetch and send over plain HTTP, on signed, expiring URLs (portal/services/fleet/charger_urls.py).

A charger has no log-in, no cookie and no CSRF token: the URL itself is the permission, for one row.
Firmware: GET the file of one charger's update. Diagnostics: POST (multipart, the usual way) or PUT
(the raw file) of exactly one file, once, of bounded size. Anything unsigned or altered is 404, expired 410,
as for the portal's other private links.
"""
from __future__ import annotations

import logging

from flask import abort, current_app, request, send_file

from portal.db import utcnow
from portal.extensions import csrf, db_session
from portal.models import FirmwareUpdate
from portal.public import bp
from portal.services.fleet import diagnostics, firmware_files
from portal.services.fleet.charger_urls import ChargerLinks
from portal.services.fleet.diagnostics import UploadRefused

log = logging.getLogger(__name__)
UPLOAD_ANSWERS = {"used": 409, "too_large": 413, "empty": 400, "expired": 410, "unknown": 404}


def _target(token: str, kind: str):
    links = ChargerLinks.from_app(current_app)
    target = links.read(token, kind)
    if target is None:
        abort(404)
    if links.expired(target):
        abort(410)
    return target


@bp.route("/charger-files/firmware/<token>/<path:filename>", methods=["GET", "HEAD"])
def charger_firmware(token: str, filename: str):
    target = _target(token, "firmware")
    row = db_session().get(FirmwareUpdate, target.row_id)
    if row is None or row.state in ("failed", "cancelled", "done"):
        abort(404)
    fw = row.rollout.firmware
    path = firmware_files.path_of(fw, current_app.config["UPLOAD_DIR"])
    if not path.exists():
        abort(404)
    log.info("firmware %s %s fetched for %s", fw.model, fw.version, row.charge_point.identity)
    response = send_file(path, mimetype="application/octet-stream", as_attachment=True,
                         download_name=fw.filename, etag=fw.sha256)
    response.headers["Cache-Control"] = "no-store"  # one charger's URL: no proxy keeps a copy for others
    return response


@bp.route("/charger-files/diagnostics/<token>", methods=["POST", "PUT"])
@bp.route("/charger-files/diagnostics/<token>/<path:filename>", methods=["POST", "PUT"])
@csrf.exempt
def charger_diagnostics_upload(token: str, filename: str = ""):
    target = _target(token, "diagnostics")
    request.max_content_length = diagnostics.max_bytes() + 64 * 1024  # the multipart envelope around the file
    stream, name = request.stream, filename
    if request.method == "POST" and request.mimetype == "multipart/form-data":
        upload = next(iter(request.files.values()), None)
        if upload is None:
            return "no file in the upload\n", 400, {"Content-Type": "text/plain"}
        stream, name = upload.stream, upload.filename or filename
    session = db_session()
    try:
        row = diagnostics.accept_upload(session, current_app.config["UPLOAD_DIR"], target.row_id, name, stream,
                                        utcnow())
    except UploadRefused as refused:
        session.rollback()
        return f"{refused.code}\n", UPLOAD_ANSWERS.get(refused.code, 400), {"Content-Type": "text/plain"}
    session.commit()
    log.info("diagnostics file %s (%s bytes) received for request %s", row.filename, row.size, row.id)
    return "stored\n", 201, {"Content-Type": "text/plain"}
