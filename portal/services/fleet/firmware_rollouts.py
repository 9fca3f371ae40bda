"""Firmware rollouts: one charger first, then a site or a model, in waves; a failure stops the wave.

A rollout lists its chargers (``firmware_updates``, in order). ``advance`` (the periodic job, and right
after a rollout is made) moves each one along:

  pending -> (waiting: charging or offline) -> sent -> downloading -> downloaded -> installing -> installed
          -> done        once a BootNotification after the call reports the file's version
          -> failed      DownloadFailed / InstallationFailed, the old version back after Installed, the
                         call refused three times, or no progress for FIRMWARE_STALL_HOURS

The next wave starts only when every charger of the current one is done; any failure stops the rollout
(no new charger is started), names the charger, and leaves it on the version it runs. A charger that is
charging is never sent the update: it waits, and is tried again on the next pass.

Flask-free: functions flush and return the action ids to enqueue; the caller commits, then enqueues.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from portal import settings
from portal.models import (
    ActionRequest, ChargePoint, FirmwareFile, FirmwareRollout, FirmwareUpdate, Transaction, User,
)
from portal.models.fleet_files import UPDATE_ACTIVE
from portal.services.charging import actions
from portal.services.fleet.charger_urls import ChargerLinks
from portal.services.fleet.firmware_files import intact
from portal.services.ocpp_ingest.common import format_time

UPDATE_FIRMWARE = "UpdateFirmware"
MAX_ATTEMPTS = 3
CHARGER_RETRIES, CHARGER_RETRY_INTERVAL_S = 3, 300  # what the charger itself does when a download fails
# What each FirmwareStatusNotification means for the charger's update row.
STATUS_STATES = {"Downloading": "downloading", "Downloaded": "downloaded", "Installing": "installing",
                 "Installed": "installed", "DownloadFailed": "failed", "InstallationFailed": "failed"}
_ORDER = {s: i for i, s in enumerate(("sent", "downloading", "downloaded", "installing", "installed"))}


class RolloutRefused(ValueError):
    """`code`: no_chargers, needs_pilot, file_damaged, busy, bad_scope."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# --- making a rollout ----------------------------------------------------------------------------------

def _targets(session: Session, fw: FirmwareFile, scope: str, site_id: int | None,
             charge_point_id: int | None) -> list[ChargePoint]:
    query = select(ChargePoint).where(ChargePoint.vendor == fw.vendor, ChargePoint.model == fw.model,
                                      ChargePoint.enabled.is_(True))
    if scope == "charger":
        query = query.where(ChargePoint.id == charge_point_id)
    elif scope == "site":
        query = query.where(ChargePoint.site_id == site_id)
    elif scope != "model":
        raise RolloutRefused("bad_scope")
    return list(session.scalars(query.order_by(ChargePoint.site_id, ChargePoint.identity)))


def piloted(session: Session, fw: FirmwareFile) -> bool:
    """The file has been installed on at least one charger (proved by its next boot)."""
    return bool(session.scalar(select(exists().where(
        FirmwareUpdate.state == "done", FirmwareUpdate.rollout_id == FirmwareRollout.id,
        FirmwareRollout.firmware_file_id == fw.id))))


def _in_other_rollout(session: Session) -> set[int]:
    return set(session.scalars(select(FirmwareUpdate.charge_point_id).join(FirmwareRollout).where(
        FirmwareRollout.state == "running", FirmwareUpdate.state.in_(("pending", "waiting", *UPDATE_ACTIVE)))))


def create_rollout(session: Session, fw: FirmwareFile, upload_dir: str, *, scope: str, user: User | None,
                   site_id: int | None = None, charge_point_id: int | None = None,
                   wave_size: int | None = None) -> FirmwareRollout:
    """A running rollout of this file; chargers already on its version are left out. A site or model
    rollout needs a successful one-charger rollout of the file first. Flushes, never commits."""
    if scope != "charger" and not piloted(session, fw):
        raise RolloutRefused("needs_pilot")
    if not intact(fw, upload_dir):
        raise RolloutRefused("file_damaged")
    busy = _in_other_rollout(session)
    chargers = [cp for cp in _targets(session, fw, scope, site_id, charge_point_id)
                if cp.firmware_version != fw.version]
    if scope == "charger" and chargers and chargers[0].id in busy:
        raise RolloutRefused("busy")
    chargers = [cp for cp in chargers if cp.id not in busy]
    if not chargers:
        raise RolloutRefused("no_chargers")
    rollout = FirmwareRollout(firmware_file_id=fw.id, scope=scope, site_id=site_id, charge_point_id=charge_point_id,
                              wave_size=max(1, int(wave_size or settings.get("firmware_wave_size"))),
                              created_by_id=user.id if user else None)
    session.add(rollout)
    session.flush()
    for position, cp in enumerate(chargers):
        session.add(FirmwareUpdate(rollout_id=rollout.id, charge_point_id=cp.id, position=position,
                                   old_version=cp.firmware_version))
    session.flush()
    return rollout


# --- what chargers report --------------------------------------------------------------------------------

def firmware_status(session: Session, identity: str, *, status: str, now: datetime, batch=None) -> None:
    """A FirmwareStatusNotification: moves the charger's update in progress along (never backwards)."""
    cp_id = session.scalar(select(ChargePoint.id).where(ChargePoint.identity == identity))
    if cp_id is None:
        return
    row = session.scalar(select(FirmwareUpdate).where(
        FirmwareUpdate.charge_point_id == cp_id, FirmwareUpdate.state.in_(UPDATE_ACTIVE))
        .order_by(FirmwareUpdate.id.desc()).limit(1))
    if row is None:
        return  # Idle, or a status about an update started outside the portal
    row.last_status, row.last_status_at = status[:24], now
    new_state = STATUS_STATES.get(status)
    if new_state == "failed":
        _fail(row, now, f"the charger reported {status}")
    elif new_state is not None and _ORDER[new_state] > _ORDER.get(row.state, 0):
        row.state = new_state


def _fail(row: FirmwareUpdate, now: datetime, why: str) -> None:
    row.state, row.error, row.finished_at = "failed", why[:500], now


# --- moving rollouts along -------------------------------------------------------------------------------

def _charging(session: Session, cp_id: int) -> bool:
    return bool(session.scalar(select(exists().where(
        Transaction.charge_point_id == cp_id, Transaction.stopped_at.is_(None), Transaction.status == "active"))))


def _check_active(session: Session, row: FirmwareUpdate, fw: FirmwareFile, now: datetime) -> None:
    """Proof by the next boot, the call's own outcome, and a stall limit."""
    cp = row.charge_point
    booted_since = cp.booted_at is not None and row.started_at is not None and cp.booted_at > row.started_at
    if booted_since and cp.firmware_version == fw.version:
        row.state, row.reported_version, row.finished_at, row.error = "done", cp.firmware_version, now, ""
        return
    if booted_since and row.state == "installed":
        row.reported_version = cp.firmware_version
        _fail(row, now, f"installed, but the charger still reports version {cp.firmware_version or '?'}")
        return
    action = session.get(ActionRequest, row.action_request_id) if row.action_request_id else None
    if action is not None and action.is_final and action.state != "accepted" and row.state == "sent":
        row.attempts += 1
        if row.attempts >= MAX_ATTEMPTS:
            _fail(row, now, f"UpdateFirmware not delivered {row.attempts} times ({action.state})")
        else:
            row.state, row.action_request_id = "pending", None  # tried again on a later pass
        return
    stall = timedelta(hours=float(settings.get("firmware_stall_hours")))
    since = row.last_status_at or row.started_at
    if since is not None and now - since > stall:
        _fail(row, now, f"no progress reported since {format_time(since)}")


def _send(session: Session, row: FirmwareUpdate, fw: FirmwareFile, now: datetime, links: ChargerLinks) -> int | None:
    """Send UpdateFirmware unless the charger is charging or offline (then it waits); the action's id."""
    cp = row.charge_point
    if not cp.online:
        row.state, row.waiting_for = "waiting", "connection"
        return None
    if _charging(session, cp.id):
        row.state, row.waiting_for = "waiting", "session"
        return None
    expires = now + timedelta(hours=int(settings.get("firmware_url_hours")))
    payload = {"location": links.url("firmware", row.id, expires.timestamp(), fw.filename),
               "retrieveDate": format_time(now), "retries": CHARGER_RETRIES,
               "retryInterval": CHARGER_RETRY_INTERVAL_S}
    action = actions.create_action(session, charge_point=cp, action=UPDATE_FIRMWARE, payload=payload, holds=False)
    row.state, row.waiting_for, row.action_request_id, row.started_at = "sent", "", action.id, now
    return action.id


def advance(session: Session, rollout: FirmwareRollout, now: datetime, links: ChargerLinks) -> list[int]:
    """One pass over a running rollout; returns the UpdateFirmware actions to enqueue after COMMIT."""
    if rollout.state != "running":
        return []
    fw = rollout.firmware
    for row in rollout.updates:
        if row.state in UPDATE_ACTIVE:
            _check_active(session, row, fw, now)
    failed = [row for row in rollout.updates if row.state == "failed"]
    if failed:
        names = ", ".join(row.charge_point.identity for row in failed)
        rollout.state, rollout.finished_at = "stopped", now
        rollout.stopped_reason = f"stopped: the update failed on {names}"
        return []
    current = [row for row in rollout.updates if row.state in ("waiting", *UPDATE_ACTIVE)]
    if not current:
        current = [row for row in rollout.updates if row.state == "pending"][:rollout.wave_size]
    if not current:
        rollout.state, rollout.finished_at = "done", now
        return []
    return [action_id for row in current if row.state in ("pending", "waiting")
            if (action_id := _send(session, row, fw, now, links)) is not None]


def advance_all(session: Session, now: datetime, links: ChargerLinks) -> list[int]:
    ids: list[int] = []
    for rollout in session.scalars(select(FirmwareRollout).where(FirmwareRollout.state == "running")):
        ids.extend(advance(session, rollout, now, links))
    session.flush()
    return ids


def stop(session: Session, rollout: FirmwareRollout, now: datetime, reason: str) -> None:
    if rollout.state == "running":
        rollout.state, rollout.finished_at, rollout.stopped_reason = "cancelled", now, reason[:500]
        session.execute(update(FirmwareUpdate).where(FirmwareUpdate.rollout_id == rollout.id,
                                                     FirmwareUpdate.state.in_(("pending", "waiting")))
                        .values(state="cancelled"))


def resume(session: Session, rollout: FirmwareRollout) -> None:
    """Go on after a stop: the failed chargers stay failed (named), the others continue."""
    if rollout.state in ("stopped", "cancelled"):
        session.execute(update(FirmwareUpdate).where(FirmwareUpdate.rollout_id == rollout.id,
                                                     FirmwareUpdate.state == "cancelled").values(state="pending"))
        rollout.state, rollout.finished_at, rollout.stopped_reason = "running", None, ""
        for row in rollout.updates:
            if row.state == "failed":
                row.state = "cancelled"  # not tried again by itself; the page still shows its error
        session.flush()
