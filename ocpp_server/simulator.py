"""A simulated OCPP 1.6J charge point, runnable and importable.

    python -m ocpp_server.simulator --url ws://127.0.0.1:9000/ocpp --id CP-DEMO-1 \
        --password Solbakken-Demo-Lader-2025 [--connectors 2] [--heartbeat S] [--auto-plug] [--meter-interval 5]

It boots, sends heartbeats at the interval the server gives, reports every connector, answers
remote start/stop, availability, reset, unlock, trigger and configuration calls, and meters
energy while charging. With --stdin it reads commands: plug N, unplug N, swipe N TAG, fault N, clear N,
stop N, quit. In tests use `SimulatedCharger` directly (`await sim.start()` ... `await sim.close()`).

  simulator      the charger: connection, boot, heartbeats, outlets, transactions, metering
  sim_options    what it is made of (Options, Outlet)
  sim_protocol   what it answers to the central system's calls (the ocpp ChargePoint subclass)
  sim_cli        the command line
"""
from __future__ import annotations

import asyncio
import base64
import logging
import ssl
from datetime import datetime, timezone
from typing import Any

from ocpp.v16 import call
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from ocpp_server import sim_config, sim_locallist, sim_smart
from ocpp_server.sim_options import Options, Outlet  # noqa: F401  (Options: importable from here)
from ocpp_server.sim_protocol import SimChargePoint

sim_locallist.install(SimChargePoint)  # SendLocalList, GetLocalListVersion (issue 21)
sim_smart.install(SimChargePoint)  # charging profiles (issue 22)

log = logging.getLogger("ocpp_server.simulator")
VOLTAGE = 230.0
PHASES = 3


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class SimulatedCharger:
    """One simulated charger: connect, boot, heartbeat, plug in, charge, answer the central system."""

    READONLY = {"NumberOfConnectors", "SupportedFeatureProfiles", "ChargeProfileMaxStackLevel"}

    def __init__(self, url: str, identity: str, password: str | None, options: Options | None = None,
                 response_timeout: float = 30, ssl_context: ssl.SSLContext | None = None) -> None:
        self.url = url.rstrip("/")
        self.ssl_context = ssl_context
        self.identity = identity
        self.password = password
        self.options = options or Options()
        self.response_timeout = response_timeout
        self.outlets = {i: Outlet(i) for i in range(1, self.options.connectors + 1)}
        self.config = {
            "HeartbeatInterval": "300", "MeterValueSampleInterval": str(int(self.options.meter_interval)),
            "NumberOfConnectors": str(self.options.connectors), "AuthorizeRemoteTxRequests": "false",
            "SupportedFeatureProfiles": "Core,RemoteTrigger", "ConnectionTimeOut": "60",
        }
        sim_config.extend(self)  # the fleet's keys: read-only, reboot-required, local list (issue 21)
        sim_smart.extend(self)  # smart charging: profiles and the current they allow (issue 22)
        self.boot_status: str | None = None
        self.heartbeat_interval: float = 300
        self.calls_received: list[tuple] = []
        self.ignored_calls: list[str] = []
        self.firmware_images: list[bytes] = []  # what UpdateFirmware downloaded (ocpp_server.sim_firmware)
        self.diagnostics_uploads: list[int] = []  # HTTP status of each diagnostics upload
        self.connected = asyncio.Event()
        self.booted = asyncio.Event()
        self.cp: SimChargePoint | None = None
        self._ws: ClientConnection | None = None
        self._tasks: set[asyncio.Task] = set()
        self._runner: asyncio.Task | None = None
        self._closing = False
        self._rebooting = False

    # --- connection ------------------------------------------------------------------------

    def handshake_headers(self) -> dict[str, str]:
        if self.password is None:
            return {}
        token = base64.b64encode(f"{self.identity}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    async def open(self) -> None:
        """Connect and boot once; raises websockets.InvalidStatus when the server refuses (401/404)."""
        self._ws = await connect(f"{self.url}/{self.identity}", subprotocols=["ocpp1.6"],
                                 additional_headers=self.handshake_headers(), open_timeout=10, ping_interval=None,
                                 **({"ssl": self.ssl_context} if self.ssl_context else {}))
        self.cp = SimChargePoint(self, self._ws)
        self.connected.set()
        reader = self.spawn(self._read(self.cp))
        await self._boot()
        self.spawn(self._heartbeats(self.cp))
        await self._report_all()
        if self.options.auto_plug:
            for outlet in self.outlets.values():
                if not outlet.plugged:
                    await self.plug(outlet.connector_id)
        self._reader = reader

    async def _read(self, cp: SimChargePoint) -> None:
        try:
            await cp.start()
        except ConnectionClosed:
            pass
        finally:
            self.connected.clear()

    async def start(self) -> None:
        """Connect, boot, and keep the connection (reconnecting) in the background."""
        await self.open()
        self._runner = asyncio.create_task(self._keep_connected())

    async def _keep_connected(self) -> None:
        while not self._closing:
            if self._ws is not None:
                await self._ws.wait_closed()
            if self._closing or not self.options.reconnect:
                return
            self.booted.clear()
            await asyncio.sleep(0.5 if self._rebooting else 2)
            try:
                await self.open()
                self._rebooting = False
            except (OSError, InvalidStatus, ConnectionClosed, asyncio.TimeoutError) as exc:
                log.warning("%s: reconnect failed: %s", self.identity, exc)
                self._ws = None
                await asyncio.sleep(3)

    async def run_forever(self) -> None:
        await self.start()
        while not self._closing:
            await asyncio.sleep(3600)

    async def close(self) -> None:
        self._closing = True
        for task in [self._runner, *self._tasks]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*[t for t in [self._runner, *self._tasks] if t], return_exceptions=True)
        if self._ws is not None:
            await self._ws.close()

    def spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def send(self, payload: Any) -> Any:
        """A call to the central system; None when the connection is gone (or sim_faults made it silent)."""
        if self.cp is None or not self.connected.is_set() or getattr(self, "silent", False):
            return None
        try:
            return await self.cp.call(payload)
        except (ConnectionClosed, asyncio.TimeoutError) as exc:
            log.warning("%s: %s not answered: %s", self.identity, type(payload).__name__, exc)
            return None

    # --- boot, heartbeat, status -------------------------------------------------------------

    async def _boot(self) -> None:
        while True:
            result = await self.cp.call(call.BootNotification(
                charge_point_vendor=self.options.vendor, charge_point_model=self.options.model,
                charge_point_serial_number=self.options.serial or f"SN-{self.identity}",
                firmware_version=self.options.firmware_version))
            self.boot_status = result.status
            self.heartbeat_interval = float(self.options.heartbeat or result.interval or 300)
            self.config["HeartbeatInterval"] = str(int(self.heartbeat_interval))
            if result.status == "Accepted":
                self.booted.set()
                return
            await asyncio.sleep(min(max(result.interval, 1), 60))

    async def _heartbeats(self, cp: SimChargePoint) -> None:
        """Every HeartbeatInterval; a new interval (ChangeConfiguration) counts from the last heartbeat at once."""
        loop, last = asyncio.get_running_loop(), asyncio.get_running_loop().time()
        while self.cp is cp and self.connected.is_set():
            await asyncio.sleep(min(1.0, self.heartbeat_interval))
            if loop.time() - last >= self.heartbeat_interval and self.cp is cp and self.connected.is_set():
                await self.send(call.Heartbeat())
                last = loop.time()

    async def _report_all(self) -> None:
        await self.report(0, "Available" if any(o.operative for o in self.outlets.values()) else "Unavailable")
        for outlet in self.outlets.values():
            await self.report(outlet.connector_id, outlet.status, outlet.error_code)

    async def report(self, connector_id: int, status: str, error_code: str = "NoError") -> None:
        if connector_id in self.outlets:
            self.outlets[connector_id].status = status
        await self.send(call.StatusNotification(connector_id=connector_id, error_code=error_code,
                                                status=status, timestamp=now_iso()))

    def _idle_status(self, outlet: Outlet) -> str:
        if outlet.error_code != "NoError":
            return "Faulted"
        if not outlet.operative:
            return "Unavailable"
        return "Preparing" if outlet.plugged else "Available"

    # --- physical actions ----------------------------------------------------------------------

    async def plug(self, connector_id: int) -> None:
        outlet = self.outlets[connector_id]
        outlet.plugged = True
        if outlet.transaction_id is None:
            await self.report(connector_id, self._idle_status(outlet))

    async def unplug(self, connector_id: int) -> None:
        outlet = self.outlets[connector_id]
        if outlet.transaction_id is not None:
            await self.stop_transaction(connector_id, "EVDisconnected")
        outlet.plugged = False
        await self.report(connector_id, self._idle_status(outlet))

    async def fault(self, connector_id: int, error_code: str = "GroundFailure") -> None:
        outlet = self.outlets[connector_id]
        if outlet.transaction_id is not None:
            await self.stop_transaction(connector_id, "Other")
        outlet.error_code = error_code
        await self.report(connector_id, "Faulted", error_code)

    async def clear_fault(self, connector_id: int) -> None:
        outlet = self.outlets[connector_id]
        outlet.error_code = "NoError"
        await self.report(connector_id, self._idle_status(outlet))

    async def swipe(self, connector_id: int, id_tag: str) -> int | None:
        """A local RFID tap: Authorize, then start charging when accepted."""
        result = await self.send(call.Authorize(id_tag=id_tag))
        if result is None or result.id_tag_info.get("status") != "Accepted":
            return None
        return await self.start_transaction(connector_id, id_tag)

    # --- transactions -----------------------------------------------------------------------

    def pick_outlet(self, connector_id: int | None) -> Outlet | None:
        """The outlet a remote start may use: operative, not faulted, not charging."""
        candidates = [self.outlets.get(connector_id)] if connector_id else list(self.outlets.values())
        for outlet in candidates:
            if outlet and outlet.operative and outlet.error_code == "NoError" and outlet.transaction_id is None \
                    and outlet.status in ("Available", "Preparing"):
                return outlet
        return None

    def outlet_for_transaction(self, transaction_id: int) -> Outlet | None:
        return next((o for o in self.outlets.values() if o.transaction_id == transaction_id), None)

    async def start_transaction(self, connector_id: int, id_tag: str) -> int | None:
        outlet = self.outlets[connector_id]
        if not outlet.plugged:
            await self.plug(connector_id)
        result = await self.send(call.StartTransaction(
            connector_id=connector_id, id_tag=id_tag, meter_start=int(outlet.meter_wh), timestamp=now_iso()))
        if result is None:
            return None
        outlet.transaction_id, outlet.id_tag = result.transaction_id, id_tag
        if result.id_tag_info.get("status") != "Accepted":
            await self.stop_transaction(connector_id, "DeAuthorized")
            return None
        await self.report(connector_id, "Charging")
        self.spawn(self._meter(outlet, result.transaction_id))
        return result.transaction_id

    async def stop_transaction(self, connector_id: int, reason: str = "Local", unplug: bool = False) -> None:
        outlet = self.outlets[connector_id]
        tx, outlet.transaction_id = outlet.transaction_id, None
        if tx is None:
            return
        await self.send(call.StopTransaction(meter_stop=int(outlet.meter_wh), timestamp=now_iso(),
                                             transaction_id=tx, reason=reason, id_tag=outlet.id_tag))
        outlet.id_tag = None
        if unplug:
            outlet.plugged = False
        await self.report(connector_id, "Finishing" if outlet.plugged else self._idle_status(outlet))

    async def _meter(self, outlet: Outlet, transaction_id: int) -> None:
        """Add energy every second; send MeterValues every meter interval."""
        elapsed = 0.0
        while outlet.transaction_id == transaction_id:
            await asyncio.sleep(min(1.0, self.options.meter_interval))
            if outlet.transaction_id != transaction_id:
                return
            step = min(1.0, self.options.meter_interval)
            outlet.meter_wh += sim_smart.power_w(self) * step / 3600
            elapsed += step
            if elapsed >= self.options.meter_interval - 1e-6:
                elapsed = 0.0
                await self.send_meter_values(outlet)

    async def send_meter_values(self, outlet: Outlet, context: str = "Sample.Periodic") -> None:
        charging = outlet.transaction_id is not None
        power = sim_smart.power_w(self) if charging else 0.0
        sampled = sim_config.sampled(self, outlet, power, VOLTAGE, context)  # as configured (issue 21)
        await self.send(call.MeterValues(connector_id=outlet.connector_id, transaction_id=outlet.transaction_id,
                                         meter_value=[{"timestamp": now_iso(), "sampledValue": sampled}]))

    # --- central-system requests ------------------------------------------------------------

    def change_availability(self, connector_id: int, operative: bool) -> str:
        targets = list(self.outlets.values()) if connector_id == 0 else [self.outlets.get(connector_id)]
        if None in targets:
            return "Rejected"
        scheduled = False
        for outlet in targets:
            outlet.operative = operative
            scheduled = scheduled or outlet.transaction_id is not None
        self.spawn(self._report_availability(connector_id, targets))
        return "Scheduled" if scheduled and not operative else "Accepted"

    async def _report_availability(self, connector_id: int, targets: list[Outlet]) -> None:
        if connector_id == 0:
            await self.report(0, "Available" if any(o.operative for o in self.outlets.values()) else "Unavailable")
        for outlet in targets:
            if outlet.transaction_id is None:
                await self.report(outlet.connector_id, self._idle_status(outlet))

    async def reboot(self, reason: str) -> None:
        """Reset: stop running sessions, drop the connection, come back and boot again."""
        await asyncio.sleep(0.1)
        for outlet in self.outlets.values():
            if outlet.transaction_id is not None:
                await self.stop_transaction(outlet.connector_id, reason)
        self._rebooting = True
        sim_smart.rebooted(self)
        if self._ws is not None:
            await self._ws.close()

    async def triggered(self, message: str, connector_id: int | None) -> None:
        if message == "BootNotification":
            result = await self.send(call.BootNotification(
                charge_point_vendor=self.options.vendor, charge_point_model=self.options.model))
            self.boot_status = getattr(result, "status", self.boot_status)
        elif message == "Heartbeat":
            await self.send(call.Heartbeat())
        elif message == "StatusNotification":
            if connector_id in (None, 0):
                await self._report_all()
            else:
                outlet = self.outlets.get(connector_id)
                if outlet:
                    await self.report(connector_id, outlet.status, outlet.error_code)
        else:
            for outlet in self.outlets.values():
                if connector_id in (None, 0, outlet.connector_id):
                    await self.send_meter_values(outlet, "Trigger")

    def configuration(self, keys: list | None) -> tuple[list[dict], list[str]]:
        wanted = keys or list(self.config)
        known = [{"key": k, "readonly": k in self.READONLY, "value": self.config[k]} for k in wanted if k in self.config]
        return known, [k for k in wanted if k not in self.config]

    def change_configuration(self, key: str, value: str) -> str:
        if key == "AuthorizationKey":  # write-only (never in GetConfiguration); used from the next connection
            if not 16 <= len(value.encode()) <= 40:
                return "Rejected"
            self.password = value
            return "Accepted"
        if key not in self.config:
            return "NotSupported"
        if key in self.READONLY:
            return "Rejected"
        if answer := sim_config.change(self, key, value):
            return answer
        if key in ("HeartbeatInterval", "MeterValueSampleInterval"):
            try:
                number = int(value)
            except ValueError:
                return "Rejected"
            if key == "HeartbeatInterval":
                self.heartbeat_interval = max(number, 1)
            else:
                self.options.meter_interval = max(number, 1)
        self.config[key] = value
        return "Accepted"


if __name__ == "__main__":
    from ocpp_server.sim_cli import main

    main()
