"""Firmware files, rollouts and diagnostics uploads, through the pages and the signed charger URLs.

The whole path with a real node, worker, web server and simulated chargers is in
test_fleet_files_stack.py; here every rule is checked on its own: a checksum that does not match keeps
nothing, a site rollout waits for a successful pilot, a charging or offline charger is never sent the
update, a failure stops the wave and names the charger, and a charger's URL works only signed, unexpired
and (for uploads) once."""
from __future__ import annotations

import hashlib
import io
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.db import utcnow
from portal.models import (
    ActionRequest, AuditEntry, ChargePoint, DiagnosticsRequest, FirmwareFile, FirmwareRollout, FirmwareUpdate,
    Transaction,
)
from portal.services.fleet import diagnostics, firmware_rollouts
from portal.services.fleet.charger_urls import ChargerLinks
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_charge_point, make_site, make_user

IMAGE = b"SIMFW:2.0.0\n" + bytes(range(256)) * 64
LINKS = ChargerLinks(TEST_SECRET_KEY, "http://portal.test")


@pytest.fixture
def fleet(session, client, login):
    site = make_site(session, "fw-site", name="Firmware sameie")
    chargers = [make_charge_point(session, site, f"CP-FW-{i}", vendor="SimuCharge", model="Sim-22",
                                  firmware_version="1.0.0") for i in range(4)]
    other = make_charge_point(session, site, "CP-OTHER-MODEL", vendor="Other", model="X")
    support = make_user(session, "fw-support@console.test", staff_role="support")
    resident = make_user(session, "fw-resident@example.test")
    session.commit()
    login(client, support)
    return {"site": site.slug, "site_id": site.id, "ids": [cp.id for cp in chargers], "other": other.id,
            "resident": resident}


def upload(client, content=IMAGE, checksum=None, version="2.0.0"):
    return client.post("/staff/firmware", data={
        "vendor": "SimuCharge", "model": "Sim-22", "version": version, "notes": "fixes the meter",
        "checksum": checksum if checksum is not None else hashlib.sha256(content).hexdigest().upper(),
        "file": (io.BytesIO(content), "sim22-2.0.0.bin")}, content_type="multipart/form-data")


def kept_files(upload_dir) -> list[Path]:
    folder = Path(upload_dir) / "firmware"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_file_whose_checksum_differs_is_refused_and_nothing_is_kept(client, session, fleet, upload_dir):
    before = kept_files(upload_dir)  # the upload folder is shared by the run's tests
    answer = upload(client, checksum=hashlib.sha256(b"something else").hexdigest())
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "not the one you typed" in page
    assert 'value="SimuCharge"' in page and 'value="2.0.0"' in page  # what was typed is kept
    assert "Choose the file again" in page
    assert session.scalar(select(func.count()).select_from(FirmwareFile)) == 0 and kept_files(upload_dir) == before
    bad = upload(client, checksum="not-a-checksum")
    assert bad.status_code == 400 and "64 characters" in bad.get_data(as_text=True)


def test_a_kept_file_has_its_checksum_and_sits_outside_static(client, session, fleet, upload_dir):
    before = set(kept_files(upload_dir))
    answer = upload(client)
    assert answer.status_code == 302
    fw = session.scalar(select(FirmwareFile))
    assert fw.sha256 == hashlib.sha256(IMAGE).hexdigest() and fw.size == len(IMAGE)
    [stored] = set(kept_files(upload_dir)) - before
    assert stored.read_bytes() == IMAGE and "static" not in stored.parts and stored.name == fw.stored_name
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "firmware_uploaded")) is not None
    assert upload(client).status_code == 400  # the same version twice


def _file(client, session) -> FirmwareFile:
    assert upload(client).status_code == 302
    return session.scalar(select(FirmwareFile))


def test_a_site_rollout_waits_for_one_charger_to_have_worked(client, session, fleet):
    fw = _file(client, session)
    refused = client.post(f"/staff/firmware/{fw.id}", data={"scope": "site", "site": fleet["site"], "wave_size": 2})
    assert refused.status_code == 400 and "Update one charger with this file first" in refused.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(FirmwareRollout)) == 0


def test_the_update_goes_only_to_an_idle_online_charger_with_a_signed_url(client, session, fleet):
    fw = _file(client, session)
    cp0, cp1, cp2 = (session.get(ChargePoint, i) for i in fleet["ids"][:3])
    cp1.online = False
    session.add(Transaction(charge_point_id=cp2.id, connector_id=1, id_tag="TAG", start_key="fw-start",
                            meter_start_wh=0, started_at=utcnow(), status="active"))
    session.commit()
    for cp in (cp0, cp1, cp2):
        answer = client.post(f"/staff/firmware/{fw.id}", data={"scope": "charger", "charger": cp.identity,
                                                               "wave_size": 1})
        assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    session.expire_all()
    rows = {u.charge_point.identity: u for u in session.scalars(select(FirmwareUpdate))}
    assert rows["CP-FW-1"].state == "waiting" and rows["CP-FW-1"].waiting_for == "connection"
    assert rows["CP-FW-2"].state == "waiting" and rows["CP-FW-2"].waiting_for == "session"
    assert rows["CP-FW-0"].state == "sent"
    [call] = session.scalars(select(ActionRequest).where(ActionRequest.action == "UpdateFirmware")).all()
    assert call.charge_point_id == cp0.id
    assert call.payload["retrieveDate"].endswith("+00:00") and call.payload["retries"] == 3
    location = call.payload["location"]
    assert location.startswith("http://portal.test/charger-files/firmware/") and location.endswith("/sim22-2.0.0.bin")
    path = location.removeprefix("http://portal.test")
    fetched = client.get(path)
    assert fetched.status_code == 200 and fetched.data == IMAGE
    token = path.split("/")[3]
    assert client.get(path.replace(token, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))).status_code == 404
    expired = LINKS.token("firmware", rows["CP-FW-0"].id, time.time() - 1)
    assert client.get(f"/charger-files/firmware/{expired}/x.bin").status_code == 410
    diag_token = LINKS.token("diagnostics", rows["CP-FW-0"].id, time.time() + 60)  # right key, wrong kind
    assert client.get(f"/charger-files/firmware/{diag_token}/x.bin").status_code == 404


def _progress(session, identity: str, *statuses: str) -> None:
    for status in statuses:
        firmware_rollouts.firmware_status(session, identity, status=status, now=utcnow())
    session.flush()


def _reboot(session, cp_id: int, version: str) -> None:
    cp = session.get(ChargePoint, cp_id)
    cp.booted_at, cp.firmware_version = utcnow() + timedelta(seconds=1), version


def test_a_failure_stops_the_wave_and_names_the_charger(client, session, fleet, upload_dir):
    fw = _file(client, session)
    pilot = firmware_rollouts.create_rollout(session, fw, upload_dir, scope="charger", user=None,
                                             charge_point_id=fleet["ids"][0])
    firmware_rollouts.advance(session, pilot, utcnow(), LINKS)
    _progress(session, "CP-FW-0", "Downloading", "Downloaded", "Installing", "Installed")
    _reboot(session, fleet["ids"][0], "2.0.0")
    firmware_rollouts.advance(session, pilot, utcnow(), LINKS)
    assert pilot.state == "done" and pilot.updates[0].state == "done"

    wave = firmware_rollouts.create_rollout(session, fw, upload_dir, scope="model", user=None, wave_size=1)
    assert [u.charge_point.identity for u in wave.updates] == ["CP-FW-1", "CP-FW-2", "CP-FW-3"]
    firmware_rollouts.advance(session, wave, utcnow(), LINKS)
    assert [u.state for u in wave.updates] == ["sent", "pending", "pending"]
    _progress(session, "CP-FW-1", "Downloading", "Downloaded", "Installing", "Installed")
    firmware_rollouts.advance(session, wave, utcnow(), LINKS)
    assert [u.state for u in wave.updates] == ["installed", "pending", "pending"]  # no proof yet: no new boot
    _reboot(session, fleet["ids"][1], "2.0.0")
    firmware_rollouts.advance(session, wave, utcnow(), LINKS)
    assert [u.state for u in wave.updates] == ["done", "sent", "pending"]
    _progress(session, "CP-FW-2", "Downloading", "Downloaded", "Installing", "InstallationFailed")
    firmware_rollouts.advance(session, wave, utcnow(), LINKS)
    assert wave.state == "stopped" and "CP-FW-2" in wave.stopped_reason
    assert [u.state for u in wave.updates] == ["done", "failed", "pending"]
    firmware_rollouts.advance(session, wave, utcnow(), LINKS)
    sent_to = set(session.scalars(select(ActionRequest.charge_point_id).where(ActionRequest.action == "UpdateFirmware")))
    assert fleet["ids"][3] not in sent_to and session.get(ChargePoint, fleet["ids"][2]).firmware_version == "1.0.0"
    assert fleet["other"] not in {u.charge_point_id for u in wave.updates}  # another model is never offered it
    session.commit()
    page = client.get(f"/staff/firmware/rollouts/{wave.id}").get_data(as_text=True)
    assert "Stopped by a failure" in page and "CP-FW-2" in page and "InstallationFailed" in page


def test_installed_without_the_new_version_after_a_restart_is_a_failure(client, session, fleet, upload_dir):
    fw = _file(client, session)
    pilot = firmware_rollouts.create_rollout(session, fw, upload_dir, scope="charger", user=None,
                                             charge_point_id=fleet["ids"][0])
    firmware_rollouts.advance(session, pilot, utcnow(), LINKS)
    _progress(session, "CP-FW-0", "Downloading", "Downloading", "Downloaded", "Downloading", "Installed")
    _reboot(session, fleet["ids"][0], "1.0.0")
    firmware_rollouts.advance(session, pilot, utcnow(), LINKS)
    assert pilot.state == "stopped" and "still reports version 1.0.0" in pilot.updates[0].error


def test_a_damaged_file_is_never_offered(client, session, fleet, upload_dir):
    fw = _file(client, session)
    (Path(upload_dir) / "firmware" / fw.stored_name).write_bytes(IMAGE + b"!")
    answer = client.post(f"/staff/firmware/{fw.id}", data={"scope": "charger", "charger": "CP-FW-0", "wave_size": 1})
    assert answer.status_code == 400 and "no longer has its checksum" in answer.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(ActionRequest)) == 0


# --- diagnostics ---------------------------------------------------------------------------------------

def _ask_diagnostics(client, session, fleet) -> DiagnosticsRequest:
    answer = client.post("/staff/chargers/CP-FW-0/diagnostics", data={"ticket": ""})
    assert answer.status_code == 302
    row = session.scalar(select(DiagnosticsRequest))
    call = session.get(ActionRequest, row.action_request_id)
    assert call.action == "GetDiagnostics" and call.state == "queued"
    return row


def test_a_diagnostics_url_takes_one_bounded_file_once(client, raw_client, session, fleet, login, monkeypatch):
    row = _ask_diagnostics(client, session, fleet)
    location = session.get(ActionRequest, row.action_request_id).payload["location"]
    path = location.removeprefix("http://portal.test")
    files = {"file": (io.BytesIO(b"log line 1\nlog line 2\n"), "diag.log")}
    assert raw_client.post(path, data=files, content_type="multipart/form-data").status_code == 201  # no CSRF token
    again = raw_client.post(path, data={"file": (io.BytesIO(b"other"), "x.log")}, content_type="multipart/form-data")
    assert again.status_code == 409
    assert raw_client.put(path + "/raw.log", data=b"other").status_code == 409
    session.expire_all()
    stored = session.get(DiagnosticsRequest, row.id)
    assert stored.state == "uploaded" and stored.filename == "diag.log" and stored.size == 22
    download = client.get(f"/staff/diagnostics/{row.id}/file")
    assert download.status_code == 200 and download.data == b"log line 1\nlog line 2\n"
    assert "CP-FW-0-diag.log" in download.headers["Content-Disposition"]
    page = client.get("/staff/chargers/CP-FW-0").get_data(as_text=True)
    assert f"/staff/diagnostics/{row.id}/file" in page
    login(client, fleet["resident"])
    assert client.get(f"/staff/diagnostics/{row.id}/file").status_code == 403


def test_a_diagnostics_url_refuses_too_big_expired_and_forged(client, raw_client, session, fleet, monkeypatch):
    monkeypatch.setenv("DIAGNOSTICS_MAX_MB", "1")
    row = _ask_diagnostics(client, session, fleet)
    good = LINKS.token("diagnostics", row.id, time.time() + 600)
    too_big = raw_client.put(f"/charger-files/diagnostics/{good}/big.log", data=b"x" * (1024 * 1024 + 1))
    assert too_big.status_code == 413
    expired = LINKS.token("diagnostics", row.id, time.time() - 1)
    assert raw_client.put(f"/charger-files/diagnostics/{expired}/a.log", data=b"x").status_code == 410
    forged = ChargerLinks("another-key", "http://portal.test").token("diagnostics", row.id, time.time() + 600)
    assert raw_client.put(f"/charger-files/diagnostics/{forged}/a.log", data=b"x").status_code == 404
    assert raw_client.put(f"/charger-files/diagnostics/{good}/empty.log", data=b"").status_code == 400
    session.expire_all()
    assert session.get(DiagnosticsRequest, row.id).stored_name is None  # nothing taken: it can still come
    assert raw_client.put(f"/charger-files/diagnostics/{good}/ok.log", data=b"fine").status_code == 201


def test_diagnostics_statuses_and_retention(client, session, fleet, upload_dir):
    row = _ask_diagnostics(client, session, fleet)
    diagnostics.diagnostics_status(session, "CP-FW-0", status="Uploading", now=utcnow())
    assert row.state == "uploading"
    diagnostics.accept_upload(session, upload_dir, row.id, "d.log", io.BytesIO(b"abc"), utcnow())
    session.commit()
    stored = Path(upload_dir) / "diagnostics" / session.get(DiagnosticsRequest, row.id).stored_name
    assert stored.exists()
    assert diagnostics.purge(session, utcnow() + timedelta(days=31), upload_dir) == 1
    assert not stored.exists() and session.get(DiagnosticsRequest, row.id).state == "expired"
    assert client.get(f"/staff/diagnostics/{row.id}/file").status_code == 404
