"""The simulated charger's side of OCPP 1.6J: what it answers to the central system's calls."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ocpp.messages import MessageType, unpack
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.client import ClientConnection

from ocpp_server.sim_firmware import FirmwareHandlers

if TYPE_CHECKING:
    from ocpp_server.simulator import SimulatedCharger


class SimChargePoint(FirmwareHandlers, ChargePoint):
    """Charger-side protocol object; answers the central system's calls for its SimulatedCharger."""

    def __init__(self, sim: "SimulatedCharger", connection: ClientConnection) -> None:
        super().__init__(sim.identity, connection, response_timeout=sim.response_timeout)
        self.sim = sim

    async def route_message(self, raw_msg: str) -> None:
        if self.sim.options.no_answer:
            try:
                if unpack(raw_msg).message_type_id == MessageType.Call:
                    self.sim.ignored_calls.append(raw_msg)
                    return
            except Exception:
                return
        await super().route_message(raw_msg)

    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag: str, connector_id: int | None = None, **_: Any):
        outlet = self.sim.pick_outlet(connector_id)
        ok = outlet is not None and not self.sim.options.reject_remote_start
        self.sim.calls_received.append(("RemoteStartTransaction", id_tag, connector_id))
        self._pending_start = (outlet, id_tag) if ok else None
        return call_result.RemoteStartTransaction(status="Accepted" if ok else "Rejected")

    @after(Action.remote_start_transaction)
    async def after_remote_start(self, **_: Any) -> None:
        pending, self._pending_start = getattr(self, "_pending_start", None), None
        if pending and not self.sim.options.no_start_after_accept:
            self.sim.spawn(self.sim.start_transaction(pending[0].connector_id, pending[1]))

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int, **_: Any):
        outlet = self.sim.outlet_for_transaction(transaction_id)
        self.sim.calls_received.append(("RemoteStopTransaction", transaction_id))
        if outlet is None:
            return call_result.RemoteStopTransaction(status="Rejected")
        self.sim.spawn(self.sim.stop_transaction(outlet.connector_id, "Remote"))
        return call_result.RemoteStopTransaction(status="Accepted")

    @on(Action.change_availability)
    def on_change_availability(self, connector_id: int, type: str, **_: Any):
        self.sim.calls_received.append(("ChangeAvailability", connector_id, type))
        status = self.sim.change_availability(connector_id, type == "Operative")
        return call_result.ChangeAvailability(status=status)

    @on(Action.reset)
    def on_reset(self, type: str, **_: Any):
        self.sim.calls_received.append(("Reset", type))
        self.sim.spawn(self.sim.reboot(f"{type}Reset"))
        return call_result.Reset(status="Accepted")

    @on(Action.unlock_connector)
    def on_unlock(self, connector_id: int, **_: Any):
        self.sim.calls_received.append(("UnlockConnector", connector_id))
        outlet = self.sim.outlets.get(connector_id)
        if outlet is None or connector_id == 0:
            return call_result.UnlockConnector(status="NotSupported")
        if outlet.transaction_id is not None:
            self.sim.spawn(self.sim.stop_transaction(connector_id, "UnlockCommand", unplug=True))
        else:
            self.sim.spawn(self.sim.unplug(connector_id))
        return call_result.UnlockConnector(status="Unlocked")

    @on(Action.trigger_message)
    def on_trigger(self, requested_message: str, connector_id: int | None = None, **_: Any):
        self.sim.calls_received.append(("TriggerMessage", requested_message, connector_id))
        if requested_message not in ("BootNotification", "Heartbeat", "StatusNotification", "MeterValues"):
            return call_result.TriggerMessage(status="NotImplemented")
        self.sim.spawn(self.sim.triggered(requested_message, connector_id))
        return call_result.TriggerMessage(status="Accepted")

    @on(Action.get_configuration)
    def on_get_configuration(self, key: list | None = None, **_: Any):
        self.sim.calls_received.append(("GetConfiguration", key))
        known, unknown = self.sim.configuration(key)
        return call_result.GetConfiguration(configuration_key=known, unknown_key=unknown or None)

    @on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str, **_: Any):
        self.sim.calls_received.append(("ChangeConfiguration", key, value))
        return call_result.ChangeConfiguration(status=self.sim.change_configuration(key, value))

    @on(Action.clear_cache)
    def on_clear_cache(self, **_: Any):
        self.sim.calls_received.append(("ClearCache",))
        return call_result.ClearCache(status="Accepted")

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **_: Any):
        return call_result.DataTransfer(status="UnknownVendorId")
