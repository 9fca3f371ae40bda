"""The simulated charger's local authorisation list and its life without a link (issue 21).

SendLocalList (Full or Differential, versioned) and GetLocalListVersion are answered from `LocalList`;
`go_offline(sim)` drops the link and keeps it down, `swipe_offline` decides a tap from the local list
(LocalAuthorizeOffline) and keeps the StartTransaction for later, and `go_online(sim)` reconnects and
sends what was kept. Hooked into the simulator's protocol object by `install(SimChargePoint)`."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

if TYPE_CHECKING:
    from ocpp_server.simulator import SimulatedCharger

log = logging.getLogger("ocpp_server.simulator")


@dataclass
class KeptStart:
    connector_id: int
    id_tag: str
    meter_start: int
    timestamp: str


@dataclass
class LocalList:
    """The charger's list: version and tag -> idTagInfo status."""
    version: int = 0
    entries: dict[str, str] = field(default_factory=dict)
    kept: list[KeptStart] = field(default_factory=list)
    offline: bool = False

    def update(self, config: dict[str, str], version: int, update_type: str, items: list[dict]) -> str:
        """The SendLocalList answer, changing the list only when Accepted."""
        if config.get("LocalAuthListEnabled") != "true":
            return "NotSupported"
        if len(items) > int(config.get("SendLocalListMaxLength", "0") or 0):
            return "Failed"
        if update_type == "Differential" and version <= self.version:
            return "VersionMismatch"
        entries = {} if update_type == "Full" else dict(self.entries)
        for item in items:
            info = item.get("id_tag_info") or item.get("idTagInfo")
            if info is None:
                entries.pop(item.get("id_tag") or item.get("idTag"), None)
            else:
                entries[item.get("id_tag") or item.get("idTag")] = info.get("status", "Invalid")
        if len(entries) > int(config.get("LocalAuthListMaxLength", "0") or 0):
            return "Failed"
        self.version, self.entries = version, entries
        return "Accepted"

    def decide(self, config: dict[str, str], id_tag: str) -> str:
        """A tap without a link: Accepted only for a tag the list accepts (and offline use is allowed)."""
        if config.get("LocalAuthorizeOffline") != "true" or config.get("LocalAuthListEnabled") != "true":
            return "Invalid"
        return self.entries.get(id_tag, "Invalid")


def of(sim: "SimulatedCharger") -> LocalList:
    """The charger's list (made on first use)."""
    if not hasattr(sim, "local_list"):
        sim.local_list = LocalList()
    return sim.local_list


def install(cls: type) -> None:
    """Give the simulator's protocol class the two local-list calls."""

    @on(Action.send_local_list)
    def on_send_local_list(self: Any, list_version: int, update_type: str, local_authorization_list: list | None = None,
                           **_: Any) -> call_result.SendLocalList:
        items = local_authorization_list or []
        self.sim.calls_received.append(("SendLocalList", list_version, update_type, len(items)))
        return call_result.SendLocalList(status=of(self.sim).update(self.sim.config, list_version, update_type, items))

    @on(Action.get_local_list_version)
    def on_get_local_list_version(self: Any, **_: Any) -> call_result.GetLocalListVersion:
        self.sim.calls_received.append(("GetLocalListVersion",))
        return call_result.GetLocalListVersion(list_version=of(self.sim).version)

    cls.on_send_local_list = on_send_local_list
    cls.on_get_local_list_version = on_get_local_list_version


async def go_offline(sim: "SimulatedCharger") -> None:
    """The garage loses its link: the connection drops and stays down until go_online."""
    of(sim).offline = True
    sim.options.reconnect = False
    if sim.cp is not None and sim.connected.is_set():
        await sim._ws.close()
    for _ in range(100):
        if not sim.connected.is_set():
            return
        await asyncio.sleep(0.05)


async def swipe_offline(sim: "SimulatedCharger", connector_id: int, id_tag: str) -> str:
    """A tap while the link is down, decided from the local list; an accepted one starts charging locally."""
    status = of(sim).decide(sim.config, id_tag)
    sim.calls_received.append(("OfflineAuthorize", id_tag, status))
    if status == "Accepted":
        outlet = sim.outlets[connector_id]
        outlet.plugged, outlet.id_tag, outlet.status = True, id_tag, "Charging"
        of(sim).kept.append(KeptStart(connector_id, id_tag, int(outlet.meter_wh),
                                      datetime.now(timezone.utc).isoformat(timespec="seconds")))
    return status


async def go_online(sim: "SimulatedCharger") -> None:
    """The link is back: connect, boot, and send the StartTransactions kept while offline."""
    of(sim).offline = False
    sim.options.reconnect = True
    await sim.start()
    kept, of(sim).kept = of(sim).kept, []
    for start in kept:
        result = await sim.send(call.StartTransaction(connector_id=start.connector_id, id_tag=start.id_tag,
                                                      meter_start=start.meter_start, timestamp=start.timestamp))
        outlet = sim.outlets[start.connector_id]
        if result is None:
            continue
        outlet.transaction_id = result.transaction_id
        if result.id_tag_info.get("status") != "Accepted":
            log.info("%s: a start made offline was refused once back (%s)", sim.identity,
                     result.id_tag_info.get("status"))
            await sim.stop_transaction(start.connector_id, "DeAuthorized")
            continue
        await sim.report(start.connector_id, "Charging")
        sim.spawn(sim._meter(outlet, result.transaction_id))


async def command(sim: "SimulatedCharger", words: list[str]) -> bool:
    """The command line's `offline`, `online` and (while offline) `swipe N TAG`; False: not ours."""
    if words[0] == "offline":
        await go_offline(sim)
    elif words[0] == "online":
        await go_online(sim)
    elif words[0] == "swipe" and of(sim).offline:
        print(f"{sim.identity}: {words[2]} {await swipe_offline(sim, int(words[1]), words[2])} (local list)", flush=True)
    else:
        return False
    return True
