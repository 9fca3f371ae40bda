"""The OCPP 1.6J central-system side of one charger connection.

`@on` handlers (skip_schema_validation=True: ocpp_server.frames checks every CALL first, with the
codes below) answer fast and hand their database work to the node's writer (ocpp_server.writer: a group commit in
a worker thread, answered only after COMMIT); follow-up calls to the charger go in `@after` tasks, never inside `@on`.

CALLERROR codes (OCPP-J 1.6 names):
  frame that is not JSON            -> FormationViolation, unique id "-1"
  JSON that is not a valid RPC frame -> ProtocolError (unique id "-1" unless it can be read)
  unknown action                     -> NotImplemented; a 1.6 action we do not take -> NotSupported
  schema: missing field -> OccurenceConstraintViolation; wrong type/too long -> TypeConstraintViolation;
  bad value (enum, range, timestamp) -> PropertyConstraintViolation; unexpected field -> FormationViolation
  an integer the database cannot hold (connectorId, transactionId, meterStart/Stop) -> PropertyConstraintViolation
The connection stays open after any of them.

Never refused, because a refused transaction message is resent forever and its session lost:
schema errors inside MeterValues.meterValue and StopTransaction.transactionData (bad samples are
skipped and counted), and unreadable Start/Stop timestamps (replaced by the receive time, flagged).
Only Start/Stop/MeterValues answer InternalError (nothing was stored; the charger resends); the
other messages are answered even when their write fails.
"""
from __future__ import annotations

import asyncio
import inspect
import json
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from ocpp.charge_point import snake_to_camel_case
from ocpp.exceptions import FormationViolationError, OCPPError, PropertyConstraintViolationError
from ocpp.messages import MessageType
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action, AvailabilityType, DataTransferStatus, RegistrationStatus

from ocpp_server import fleet_hooks
from ocpp_server.frames import (  # noqa: F401  (schema_error, frame_error, unpack_parsed: the tests' names)
    MessageRate, frame_error, refusal, schema_error, unpack_parsed,
)
from ocpp_server.ocpp_adapter import LoggedConnection
from portal import settings
from portal.db import utcnow
from portal.services import ocpp_ingest
from portal.services.fleet import diagnostics, firmware_rollouts
from portal.services.ocpp_ingest import format_time, parse_time

if TYPE_CHECKING:
    from ocpp_server.node import Node

log = logging.getLogger(__name__)


def tag_expiry_s() -> int:
    """How long a charger may trust an Authorize/Start answer from its cache (OCPP_TAG_EXPIRY_S)."""
    return int(settings.get("ocpp_tag_expiry_s"))


class CallNotAllowed(RuntimeError):
    """A CSMS-initiated call to a charger whose boot is not Accepted (Pending, Rejected or unknown)."""


class CentralChargePoint(ChargePoint):
    """One connected charger: identity, boot status, handlers; `await cp.call(payload)` from node tasks."""

    vendor_handlers: dict[str, Callable[..., Any]] = {}

    def __init__(self, identity: str, connection: Any, node: "Node", info: ocpp_ingest.ConnectInfo,
                 response_timeout: float = 30) -> None:
        # The library's constructor, with the socket wrapped so every frame we send is logged (ocpp_adapter).
        super().__init__(identity, LoggedConnection(connection, self._sent), response_timeout=response_timeout)
        self.socket = connection  # the charger's WebSocket (closed by the node when replaced or superseded)
        self.identity = identity
        self.node = node
        self.boot_status: str | None = info.boot_status
        self.enabled = info.enabled
        self.relaxed_validation = info.relaxed_validation
        self.replaced = False
        self.heartbeat_interval = info.heartbeat_interval
        self.in_flight = asyncio.Lock()  # OCPP-J: one CALL of ours in flight per charger (ocpp_server.calls)
        self.unavailable_requested = False
        self.status_seen: dict[int, datetime] = {}  # newest StatusNotification time per connector
        # What the hot path needs, held by the connection: only this connection starts and stops the
        # charger's transactions, so it keeps this map exact without asking the database.
        self.charge_point_id = info.charge_point_id or None
        self.open_transactions: dict[int, int] = dict(info.open_transactions)
        self.last_message_at = asyncio.get_running_loop().time()
        self.rate = MessageRate(float(settings.get("ocpp_max_messages_per_s")))
        if self.relaxed_validation:
            log.warning("%s: relaxed schema validation is on for this charger", identity)

    # --- framing -----------------------------------------------------------------------------

    async def route_message(self, raw_msg: str | bytes) -> None:
        """Log, check and answer what the library would refuse differently; route the rest through it."""
        self.last_message_at = asyncio.get_running_loop().time()
        await self.rate.wait()
        text = raw_msg if isinstance(raw_msg, str) else raw_msg.decode("utf-8", "replace")
        now = utcnow()
        self.node.seen.note(self.identity, now)  # last seen: written in batches (ocpp_server.seen)
        try:
            data = json.loads(text)
        except ValueError:
            self.node.msglog.record(self.identity, "in", text, now, parsed=None)
            log.warning("%s: unreadable frame answered with CALLERROR", self.identity)
            await self.connection_send(frame_error(text, FormationViolationError()).to_json())
            return
        self.node.msglog.record(self.identity, "in", text, now, parsed=data)  # parsed once, for both
        try:
            msg = unpack_parsed(data)
        except OCPPError as exc:
            log.warning("%s: unreadable frame answered with CALLERROR", self.identity)
            await self.connection_send(frame_error(text, exc).to_json())
            return
        if msg.message_type_id == MessageType.Call:
            error = refusal(msg, self.route_map, self.relaxed_validation, self.identity, log)
            if error is not None:
                log.info("%s: %s refused with %s", self.identity, msg.action, error.code)
                await self.connection_send(msg.create_call_error(error).to_json())
                return
        await super().route_message(text)

    def _sent(self, message: str) -> None:
        self.node.msglog.record(self.identity, "out", message)

    async def connection_send(self, message: str) -> None:
        """A frame of our own (a CALLERROR the library would not send), logged like the library's."""
        self._sent(message)
        await self.socket.send(message)

    async def call(self, payload: Any, suppress: bool = True, unique_id: str | None = None,
                   skip_schema_validation: bool = False) -> Any:
        """Send a CALL, one at a time per charger; see call_in_flight."""
        async with self.in_flight:
            return await self.call_in_flight(payload, suppress=suppress, unique_id=unique_id,
                                             skip_schema_validation=skip_schema_validation)

    async def call_in_flight(self, payload: Any, suppress: bool = True, unique_id: str | None = None,
                             skip_schema_validation: bool = False) -> Any:
        """Send a CALL while holding `in_flight`; refused unless the charger's boot was Accepted.
        TriggerMessage is always allowed: it is how a charger that reconnected without booting is asked
        to boot, and how support asks a charger that has not booted on this node for its status."""
        if self.boot_status != RegistrationStatus.accepted and not isinstance(payload, call.TriggerMessage):
            raise CallNotAllowed(f"{self.identity} boot status is {self.boot_status}")
        return await super().call(payload, suppress=suppress, unique_id=unique_id,
                                  skip_schema_validation=skip_schema_validation)

    # --- helpers -----------------------------------------------------------------------------

    async def _db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """fn(session, identity, *args, batch=..., **kwargs) in the node's group commit (a per-charger message)."""
        return await self.node.run_for(self.identity, fn, *args, **kwargs)

    async def _db_or(self, fallback: Any, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A side effect that must not cost the charger its answer: on failure, log and return fallback."""
        try:
            return await self._db(fn, *args, **kwargs)
        except Exception:
            log.exception("%s: %s could not be stored; answered anyway", self.identity, fn.__name__)
            return fallback

    def _time(self, text: str | None, field: str) -> datetime | None:
        """Parse a charger timestamp; strict chargers get PropertyConstraintViolation for garbage."""
        if text is None:
            return None
        try:
            return parse_time(text)
        except (ValueError, TypeError, AttributeError):
            if self.relaxed_validation:
                return utcnow()
            raise PropertyConstraintViolationError(details={"cause": f"{field} is not a dateTime"})

    @staticmethod
    def _charger_time(text: Any) -> datetime | None:
        """A transaction message's timestamp, or None when unreadable (the ingest uses the receive time)."""
        try:
            return parse_time(text)
        except (ValueError, TypeError, AttributeError):
            return None

    @staticmethod
    def _id_tag_info(status: str) -> dict:
        """idTagInfo with an expiry, so a charger's authorisation cache forgets the tag in time."""
        expiry = utcnow() + timedelta(seconds=tag_expiry_s())
        return {"status": status, "expiry_date": format_time(expiry)}

    def _spawn(self, coro: Any) -> None:
        self.node.spawn(coro, name=f"{self.identity}-followup")

    # --- charger-initiated messages -----------------------------------------------------------

    @on(Action.boot_notification, skip_schema_validation=True)
    async def on_boot_notification(self, charge_point_vendor: str, charge_point_model: str,
                                   **kwargs: Any) -> call_result.BootNotification:
        pending = ocpp_ingest.BootOutcome("Pending", ocpp_ingest.RETRY_INTERVAL_S, self.enabled)
        outcome = await self._db_or(
            pending, ocpp_ingest.boot, vendor=charge_point_vendor, model=charge_point_model,
            serial=kwargs.get("charge_point_serial_number") or kwargs.get("charge_box_serial_number"),
            firmware=kwargs.get("firmware_version"), now=utcnow(),
        )
        self.boot_status, self.enabled = outcome.status, outcome.enabled
        log.info("%s: boot %s (%s %s)", self.identity, outcome.status, charge_point_vendor, charge_point_model)
        return call_result.BootNotification(current_time=format_time(utcnow()), interval=outcome.interval,
                                            status=outcome.status)

    @after(Action.boot_notification)
    async def after_boot_notification(self, **kwargs: Any) -> None:
        if self.boot_status == RegistrationStatus.accepted and not self.enabled:
            self._spawn(self.keep_unavailable())
        if self.boot_status == RegistrationStatus.accepted:
            self._spawn(fleet_hooks.after_boot(self))  # configuration template and local list (issue 21)

    async def keep_unavailable(self) -> None:
        """A disabled charge point may connect but stays Inoperative (asked once per connection)."""
        if self.unavailable_requested:
            return
        self.unavailable_requested = True
        try:
            result = await self.call(call.ChangeAvailability(connector_id=0, type=AvailabilityType.inoperative))
            log.info("%s: disabled, ChangeAvailability Inoperative -> %s", self.identity,
                     getattr(result, "status", None))
        except (CallNotAllowed, asyncio.TimeoutError) as exc:
            log.warning("%s: could not make the disabled charger unavailable: %s", self.identity, exc)

    @on(Action.heartbeat, skip_schema_validation=True)
    async def on_heartbeat(self, **kwargs: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=format_time(utcnow()))  # last seen: noted in route_message

    @on(Action.status_notification, skip_schema_validation=True)
    async def on_status_notification(self, connector_id: int, error_code: str, status: str,
                                     **kwargs: Any) -> call_result.StatusNotification:
        unchanged = ocpp_ingest.StatusOutcome(self.enabled, None)
        outcome = await self._db_or(
            unchanged, ocpp_ingest.status_notification, connector_id=connector_id, status=status,
            error_code=error_code, info=kwargs.get("info"), vendor_error_code=kwargs.get("vendor_error_code"),
            timestamp=self._time(kwargs.get("timestamp"), "timestamp"), now=utcnow(),
            newest_seen=self.status_seen.get(connector_id),
        )
        if outcome.at is not None:
            newest = self.status_seen.get(connector_id)
            self.status_seen[connector_id] = max(outcome.at, newest) if newest else outcome.at
        self.enabled = outcome.enabled
        if outcome.jobs:
            await self.node.enqueue_after_commit(outcome.jobs)
        return call_result.StatusNotification()

    @after(Action.status_notification)
    async def after_status_notification(self, connector_id: int, status: str, **kwargs: Any) -> None:
        if self.enabled:
            self.unavailable_requested = False
        elif status not in ("Unavailable", "Faulted") and self.boot_status == RegistrationStatus.accepted:
            self._spawn(self.keep_unavailable())

    @on(Action.authorize, skip_schema_validation=True)
    async def on_authorize(self, id_tag: str, **kwargs: Any) -> call_result.Authorize:
        status = await self._db_or(None, ocpp_ingest.authorize, id_tag, utcnow())
        if status is None:  # no decision possible: refuse, without an expiry so nothing is cached
            return call_result.Authorize(id_tag_info={"status": "Invalid"})
        return call_result.Authorize(id_tag_info=self._id_tag_info(status))

    @on(Action.start_transaction, skip_schema_validation=True)
    async def on_start_transaction(self, connector_id: int, id_tag: str, meter_start: int, timestamp: str,
                                   **kwargs: Any) -> call_result.StartTransaction:
        outcome = await self._db(
            ocpp_ingest.start_transaction, connector_id=connector_id, id_tag=id_tag,
            meter_start=meter_start, timestamp=self._charger_time(timestamp), now=utcnow(),
        )
        if outcome.status == "Accepted":
            self.open_transactions[connector_id] = outcome.transaction_id
        log.info("%s: StartTransaction connector %s -> tx %s %s%s", self.identity, connector_id,
                 outcome.transaction_id, outcome.status, " (duplicate)" if outcome.duplicate else "")
        return call_result.StartTransaction(transaction_id=outcome.transaction_id,
                                            id_tag_info=self._id_tag_info(outcome.status))

    @on(Action.meter_values, skip_schema_validation=True)
    async def on_meter_values(self, connector_id: int, meter_value: list, **kwargs: Any) -> call_result.MeterValues:
        await self._db(ocpp_ingest.meter_values, connector_id=connector_id,
                       transaction_id=kwargs.get("transaction_id"), meter_value=meter_value, now=utcnow(),
                       charge_point_id=self.charge_point_id,
                       open_transaction_id=self.open_transactions.get(connector_id))
        return call_result.MeterValues()

    @on(Action.stop_transaction, skip_schema_validation=True)
    async def on_stop_transaction(self, meter_stop: int, timestamp: str, transaction_id: int,
                                  **kwargs: Any) -> call_result.StopTransaction:
        payload = snake_to_camel_case({"meter_stop": meter_stop, "timestamp": timestamp,
                                       "transaction_id": transaction_id, **kwargs})
        status = await self._db(
            ocpp_ingest.stop_transaction, transaction_id=transaction_id, meter_stop=meter_stop,
            timestamp=self._charger_time(timestamp), reason=kwargs.get("reason"), id_tag=kwargs.get("id_tag"),
            transaction_data=kwargs.get("transaction_data"), payload=payload, now=utcnow(),
        )
        for connector, open_id in list(self.open_transactions.items()):
            if open_id == transaction_id:
                del self.open_transactions[connector]
        return call_result.StopTransaction(id_tag_info=self._id_tag_info(status) if status else None)

    @on(Action.data_transfer, skip_schema_validation=True)
    async def on_data_transfer(self, vendor_id: str, **kwargs: Any) -> call_result.DataTransfer:
        handler = self.vendor_handlers.get(vendor_id)
        if handler is None:
            return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)
        return await handler(self, message_id=kwargs.get("message_id"), data=kwargs.get("data"))

    @on(Action.diagnostics_status_notification, skip_schema_validation=True)
    async def on_diagnostics_status(self, status: str, **kwargs: Any) -> call_result.DiagnosticsStatusNotification:
        await self._db_or(None, diagnostics.diagnostics_status, status=status, now=utcnow())
        return call_result.DiagnosticsStatusNotification()

    @on(Action.firmware_status_notification, skip_schema_validation=True)
    async def on_firmware_status(self, status: str, **kwargs: Any) -> call_result.FirmwareStatusNotification:
        await self._db_or(None, firmware_rollouts.firmware_status, status=status, now=utcnow())
        return call_result.FirmwareStatusNotification()


# The library asks inspect.signature(handler) twice per message; a stored signature (the standard
# __signature__ attribute) answers that without parsing the function again.
for _handler in vars(CentralChargePoint).values():
    if inspect.isfunction(_handler) and _handler.__name__.startswith(("on_", "after_")):
        _handler.__signature__ = inspect.signature(_handler)

