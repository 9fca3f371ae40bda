"""Firmware and diagnostics on the real stack: the web server serves the file and takes the upload, the RQ
worker carries UpdateFirmware and GetDiagnostics, the OCPP node records what the chargers report, and
simulated chargers really download the image over HTTP, install it, restart and boot with its version.

A wave over three chargers, one at a time, after a pilot: the second fails to install, the wave stops,
the third is never sent the update, and the failed charger stays on its old version."""
from __future__ import annotations

import hashlib
import io
import time

import pytest
from sqlalchemy import select

from portal.db import utcnow
from portal.models import ChargePoint, DiagnosticsRequest, FirmwareFile, FirmwareRollout, OcppMessage
from portal.services.charging.action_queue import enqueue_action
from portal.services.fleet import diagnostics, firmware_files, firmware_rollouts
from portal.services.fleet.charger_urls import ChargerLinks
from tests.factories import CHARGER_SECRET, make_charge_point, make_site, make_user
from tests.support.stack import Stack, wait_for_db
from worker.jobs.firmware import advance_rollouts

IMAGE = b"SIMFW:2.0.0\n" + b"\x00\x01firmware body\n" * 2000
STACK_KEY = "firmware-stack-test-key-long-enough-for-the-web-2026"  # the web refuses weak keys
IDENTITIES = ("CP-FWS-0", "CP-FWS-1", "CP-FWS-2", "CP-FWS-3")  # CP-FWS-2 fails to install


@pytest.fixture
def env(database_url, redis_url, upload_dir, monkeypatch):
    values = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": STACK_KEY,
              "UPLOAD_DIR": upload_dir, "ACTION_DEADLINE_S": "10", "OCPP_CLAIM_TTL_S": "3", "WORKER_PROCESSES": "1"}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@pytest.fixture
def fleet(session):
    site = make_site(session, "fw-stack", name="Firmware stack sameie")
    ids = [make_charge_point(session, site, identity, online=False, status="Unavailable").id for identity in IDENTITIES]
    support = make_user(session, "fw-stack-support@console.test", staff_role="support")
    session.commit()
    return {"ids": ids, "support_id": support.id}


def _all_online(db, ids):
    wait_for_db(db, lambda s: all((cp := s.get(ChargePoint, i)).online and cp.boot_status == "Accepted"
                                  for i in ids), timeout=40)


def _drive(db, database_url, redis_url, rollout_id, done, timeout=90.0) -> FirmwareRollout:
    """Run the periodic job by hand (the worker's own schedule is once a minute) until `done(rollout)`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        advance_rollouts(database_url, redis_url)
        with db.session() as s:
            rollout = s.get(FirmwareRollout, rollout_id)
            if done(rollout):
                s.expunge_all()
                return rollout
        time.sleep(0.5)
    with db.session() as s:
        rollout = s.get(FirmwareRollout, rollout_id)
        states = [(u.charge_point.identity, u.state, u.last_status, u.error) for u in rollout.updates]
    raise AssertionError(f"rollout {rollout_id} is {rollout.state}: {states}")


def test_a_wave_stops_at_the_charger_that_fails(db, env, fleet, database_url, redis_url, upload_dir, monkeypatch):
    with Stack(env) as stack:
        _web, base = stack.web()
        monkeypatch.setenv("PORTAL_BASE_URL", base)
        stack.env["PORTAL_BASE_URL"] = base
        node = stack.ocpp_node("fw-node")
        stack.worker()
        stack.simulator(node.url, IDENTITIES[0], CHARGER_SECRET,
                        extra_args=["--id", IDENTITIES[1], "--id", IDENTITIES[3]])
        stack.simulator(node.url, IDENTITIES[2], CHARGER_SECRET, extra_args=["--firmware-fail", "install"])
        _all_online(db, fleet["ids"])
        with db.session() as s:
            fw = firmware_files.store(s, upload_dir, stream=io.BytesIO(IMAGE), filename="sim22.bin",
                                      vendor="SimuCharge", model="Sim-22", version="2.0.0",
                                      checksum=hashlib.sha256(IMAGE).hexdigest())
            pilot_id = firmware_rollouts.create_rollout(s, fw, upload_dir, scope="charger", user=None,
                                                        charge_point_id=fleet["ids"][0]).id
            fw_id = fw.id
            s.commit()
        pilot = _drive(db, database_url, redis_url, pilot_id, lambda r: r.state != "running")
        assert pilot.state == "done"
        with db.session() as s:
            assert s.get(ChargePoint, fleet["ids"][0]).firmware_version == "2.0.0"
            wave_id = firmware_rollouts.create_rollout(s, s.get(FirmwareFile, fw_id), upload_dir, scope="model",
                                                       user=None, wave_size=1).id
            s.commit()
        wave = _drive(db, database_url, redis_url, wave_id, lambda r: r.state != "running")
        with db.session() as s:
            wave = s.get(FirmwareRollout, wave_id)
            states = {u.charge_point.identity: u.state for u in wave.updates}
            assert wave.state == "stopped" and "CP-FWS-2" in wave.stopped_reason, wave.stopped_reason
            assert states == {"CP-FWS-1": "done", "CP-FWS-2": "failed", "CP-FWS-3": "pending"}
            versions = {cp.identity: cp.firmware_version for cp in s.scalars(select(ChargePoint))}
            assert versions == {"CP-FWS-0": "2.0.0", "CP-FWS-1": "2.0.0", "CP-FWS-2": "1.0.0", "CP-FWS-3": "1.0.0"}
            reported = s.scalars(select(OcppMessage.frame).where(
                OcppMessage.identity == "CP-FWS-2", OcppMessage.action == "FirmwareStatusNotification")).all()
            assert any("InstallationFailed" in frame for frame in reported)
            assert not s.scalars(select(OcppMessage.id).where(
                OcppMessage.identity == "CP-FWS-3", OcppMessage.action == "UpdateFirmware")).all()


def test_a_diagnostics_file_is_uploaded_and_support_downloads_it(db, env, fleet, app_config, session, login,
                                                                 monkeypatch):
    from portal import create_app
    from tests.conftest import browser_like_client

    with Stack(env) as stack:
        _web, base = stack.web()
        node = stack.ocpp_node("diag-node")
        stack.worker()
        stack.simulator(node.url, IDENTITIES[0], CHARGER_SECRET)
        _all_online(db, fleet["ids"][:1])
        links = ChargerLinks(STACK_KEY, base)
        with db.session() as s:
            row = diagnostics.request_diagnostics(s, None, s.get(ChargePoint, fleet["ids"][0]), utcnow(), links)
            row_id, action_id = row.id, row.action_request_id
            s.commit()
        enqueue_action(env["REDIS_URL"], action_id)
        wait_for_db(db, lambda s: s.get(DiagnosticsRequest, row_id).state == "uploaded", timeout=40)
        wait_for_db(db, lambda s: s.get(DiagnosticsRequest, row_id).last_status == "Uploaded")
    client = browser_like_client(create_app(dict(app_config, PORTAL_BASE_URL=base)))
    login(client, session.get(__import__("portal.models", fromlist=["User"]).User, fleet["support_id"]))
    download = client.get(f"/staff/diagnostics/{row_id}/file")
    assert download.status_code == 200 and b"CP-FWS-0 firmware 1.0.0" in download.data
    assert b"connector 1: Available" in download.data
