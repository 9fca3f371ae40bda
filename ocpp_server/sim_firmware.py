"""The simulated charger's firmware updates and diagnostics uploads, over real HTTP to the portal.

UpdateFirmware: the image is fetched from the location the central system gives (at its retrieveDate),
then installed and the charger restarts; it then boots with the image's version. An image says its
version on its first line, ``SIMFW:<version>``; anything else is not for this charger and fails to
install, as a real charger refuses another model's image. ``--firmware-fail download|install`` makes
every update fail at that step. Each step is reported with FirmwareStatusNotification.

GetDiagnostics: a small log is generated and POSTed (multipart/form-data) to the location; each step
is reported with DiagnosticsStatusNotification.
"""
from __future__ import annotations

import asyncio
import logging
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

if TYPE_CHECKING:
    from ocpp_server.simulator import SimulatedCharger

log = logging.getLogger("ocpp_server.simulator")
FETCH_TIMEOUT_S = 30
MAGIC = b"SIMFW:"


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as answer:  # noqa: S310 - the portal's URL
        return answer.read()


def _post_file(url: str, filename: str, content: bytes) -> int:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            f"Content-Type: text/plain\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(req, timeout=FETCH_TIMEOUT_S) as answer:  # noqa: S310
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def image_version(image: bytes) -> str | None:
    first = image.split(b"\n", 1)[0]
    if not first.startswith(MAGIC):
        return None
    return first[len(MAGIC):].strip().decode("ascii", "replace")[:50] or None


async def update_firmware(sim: "SimulatedCharger", location: str, retrieve_date: str) -> None:
    try:
        wait = (datetime.fromisoformat(retrieve_date.replace("Z", "+00:00")) - datetime.now(timezone.utc)).total_seconds()
    except ValueError:
        wait = 0
    await asyncio.sleep(min(max(wait, 0), 3600))
    status = lambda s: sim.send(call.FirmwareStatusNotification(status=s))  # noqa: E731
    await status("Downloading")
    try:
        if sim.options.firmware_fail == "download":
            raise OSError("download refused by --firmware-fail")
        image = await asyncio.to_thread(_fetch, location)
    except (OSError, urllib.error.URLError) as exc:
        log.warning("%s: firmware download failed: %s", sim.identity, exc)
        await status("DownloadFailed")
        return
    sim.firmware_images.append(image)
    await status("Downloaded")
    await status("Installing")
    await asyncio.sleep(0.2)
    version = image_version(image)
    if sim.options.firmware_fail == "install" or version is None:
        await status("InstallationFailed")
        return
    await status("Installed")
    sim.options.firmware_version = version
    await sim.reboot("FirmwareUpdate")


async def upload_diagnostics(sim: "SimulatedCharger", location: str, filename: str) -> None:
    send = lambda s: sim.send(call.DiagnosticsStatusNotification(status=s))  # noqa: E731
    await send("Uploading")
    lines = [f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {sim.identity} firmware {sim.options.firmware_version}"]
    lines += [f"connector {o.connector_id}: {o.status} {o.error_code} meter {int(o.meter_wh)} Wh"
              for o in sim.outlets.values()]
    content = ("\n".join(lines) + "\n").encode()
    url = location.rstrip("/")
    try:
        code = await asyncio.to_thread(_post_file, url, filename, content)
    except OSError as exc:
        log.warning("%s: diagnostics upload failed: %s", sim.identity, exc)
        code = 0
    sim.diagnostics_uploads.append(code)
    await send("Uploaded" if 200 <= code < 300 else "UploadFailed")


class FirmwareHandlers:
    """Mixed into the simulator's charge point (ocpp_server.sim_protocol.SimChargePoint)."""

    sim: "SimulatedCharger"

    @on(Action.update_firmware)
    def on_update_firmware(self, location: str, retrieve_date: str, **_: Any):
        self.sim.calls_received.append(("UpdateFirmware", location))
        self.sim.spawn(update_firmware(self.sim, location, retrieve_date))
        return call_result.UpdateFirmware()

    @on(Action.get_diagnostics)
    def on_get_diagnostics(self, location: str, **_: Any):
        filename = f"diagnostics-{self.sim.identity}-{int(time.time())}.log"
        self.sim.calls_received.append(("GetDiagnostics", location))
        self.sim.spawn(upload_diagnostics(self.sim, location, filename))
        return call_result.GetDiagnostics(file_name=filename)
