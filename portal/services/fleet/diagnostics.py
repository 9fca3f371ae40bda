"""Diagnostics from a charger: GetDiagnostics with an upload URL on the portal that takes one file, once.

The URL is signed and expires (DIAGNOSTICS_URL_MINUTES); the file is bounded (DIAGNOSTICS_MAX_MB),
stored outside ``static/``, readable by support only, and deleted after DIAGNOSTICS_RETENTION_DAYS.
A second upload to the same URL is refused: the row's ``stored_name`` is set by a conditional UPDATE,
so two uploads at the same moment store one file. Flask-free; functions flush, the caller commits.
"""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal import settings
from portal.models import ChargePoint, DiagnosticsRequest, User
from portal.services.charging import actions
from portal.services.fleet.charger_urls import ChargerLinks
from portal.services.fleet.firmware_files import CHUNK, safe_filename

GET_DIAGNOSTICS = "GetDiagnostics"
STATUS_STATES = {"Uploading": "uploading", "UploadFailed": "failed"}


class UploadRefused(ValueError):
    """`code`: used (a file came already), too_large, empty, expired, unknown."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def diagnostics_dir(upload_dir: str | Path) -> Path:
    path = Path(upload_dir) / "diagnostics"
    path.mkdir(parents=True, exist_ok=True)
    return path


def max_bytes() -> int:
    return int(settings.get("diagnostics_max_mb")) * 1024 * 1024


def request_diagnostics(session: Session, user: User | None, cp: ChargePoint, now: datetime, links: ChargerLinks,
                        ticket_id: int | None = None) -> DiagnosticsRequest:
    """The request row and its GetDiagnostics action (flushed; commit, then enqueue row.action_request_id)."""
    expires = now + timedelta(minutes=int(settings.get("diagnostics_url_minutes")))
    row = DiagnosticsRequest(charge_point_id=cp.id, ticket_id=ticket_id, requested_by_id=user.id if user else None,
                             expires_at=expires)
    session.add(row)
    session.flush()
    payload = {"location": links.url("diagnostics", row.id, expires.timestamp()),
               "retries": 2, "retryInterval": 60}
    action = actions.create_action(session, charge_point=cp, action=GET_DIAGNOSTICS, payload=payload,
                                   requested_by=user, holds=False)
    row.action_request_id = action.id
    session.flush()
    return row


def diagnostics_status(session: Session, identity: str, *, status: str, now: datetime, batch=None) -> None:
    """A DiagnosticsStatusNotification for the charger's newest open request."""
    cp_id = session.scalar(select(ChargePoint.id).where(ChargePoint.identity == identity))
    if cp_id is None:
        return
    row = session.scalar(select(DiagnosticsRequest).where(
        DiagnosticsRequest.charge_point_id == cp_id,
        DiagnosticsRequest.state.in_(("requested", "uploading", "uploaded")))
        .order_by(DiagnosticsRequest.id.desc()).limit(1))
    if row is None:
        return
    row.last_status, row.last_status_at = status[:24], now
    if row.state != "uploaded":  # the file is here: what the charger says after that changes nothing
        row.state = STATUS_STATES.get(status, row.state)


def accept_upload(session: Session, upload_dir: str | Path, row_id: int, filename: str, stream: BinaryIO,
                  now: datetime) -> DiagnosticsRequest:
    """Store the one file of this request, or UploadRefused. Commits nothing; the claim is a conditional
    UPDATE, so of two uploads at once only one keeps its file."""
    row = session.get(DiagnosticsRequest, row_id)
    if row is None:
        raise UploadRefused("unknown")
    if row.stored_name is not None:
        raise UploadRefused("used")
    if row.expires_at <= now:
        raise UploadRefused("expired")
    stored_name = f"{uuid.uuid4().hex}.bin"
    target = diagnostics_dir(upload_dir) / stored_name
    digest, size, limit = hashlib.sha256(), 0, max_bytes()
    try:
        with open(target, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise UploadRefused("too_large")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise UploadRefused("empty")
        claimed = session.execute(update(DiagnosticsRequest).where(
            DiagnosticsRequest.id == row_id, DiagnosticsRequest.stored_name.is_(None)).values(
            stored_name=stored_name, filename=safe_filename(filename or f"diagnostics-{row_id}.bin"), size=size,
            sha256=digest.hexdigest(), uploaded_at=now, state="uploaded")).rowcount
        if claimed != 1:
            raise UploadRefused("used")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    session.expire(row)
    return row


def path_of(row: DiagnosticsRequest, upload_dir: str | Path) -> Path | None:
    if row.state != "uploaded" or not row.stored_name:
        return None
    path = diagnostics_dir(upload_dir) / row.stored_name
    return path if path.exists() else None


def purge(session: Session, now: datetime, upload_dir: str | Path) -> int:
    """Delete files past their retention; the row stays (state 'expired') so the history keeps it."""
    cutoff = now - timedelta(days=int(settings.get("diagnostics_retention_days")))
    rows = list(session.scalars(select(DiagnosticsRequest).where(
        DiagnosticsRequest.state == "uploaded", DiagnosticsRequest.uploaded_at < cutoff)))
    for row in rows:
        (diagnostics_dir(upload_dir) / row.stored_name).unlink(missing_ok=True)
        row.state = "expired"
    session.flush()
    return len(rows)
