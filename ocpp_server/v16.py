"""The OCPP 1.6J central-system side of one charger connection.

`@on` handlers answer fast and do their database work in a worker thread (one fresh session and
one commit per message); follow-up calls to the charger go in `@after` tasks, never inside `@on`.

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
import functools
import inspect
import json
import logging
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from types import MethodType
from typing import TYPE_CHECKING, Any, Callable

from ocpp.charge_point import snake_to_camel_case
import fastjsonschema
from ocpp.exceptions import (
    FormationViolationError, NotImplementedError as OcppNotImplemented, NotSupportedError,
    OccurenceConstraintViolationError, OCPPError, PropertyConstraintViolationError, ProtocolError,
    TypeConstraintViolationError,
)
from ocpp.messages import Call, CallError, CallResult, MessageType, get_validator
from ocpp.charge_point import LOGGER as LIBRARY_LOGGER
from ocpp.routing import after, create_route_map, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action, AvailabilityType, DataTransferStatus, RegistrationStatus

from portal import settings
from portal.db import utcnow
from portal.services import ocpp_ingest
from portal.services.ocpp_ingest import format_time, parse_time

if TYPE_CHECKING:
    from ocpp_server.node import Node

log = logging.getLogger(__name__)
KNOWN_ACTIONS = {a.value for a in Action}


def asks_for_boot(payload: Any) -> bool:
    return isinstance(payload, call.TriggerMessage) and payload.requested_message == "BootNotification"


class MessageRate:
    """A token bucket per connection: beyond the rate (bursts of five seconds' worth) reading waits."""

    __slots__ = ("per_second", "burst", "tokens", "updated")

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self.burst = max(per_second * 5, 1)
        self.tokens = self.burst
        self.updated = asyncio.get_running_loop().time()

    async def wait(self) -> None:
        if self.per_second <= 0:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens < 1:
            delay = (1 - self.tokens) / self.per_second
            await asyncio.sleep(delay)
            self.tokens, self.updated = 1, loop.time()
        self.tokens -= 1


def tag_expiry_s() -> int:
    """How long a charger may trust an Authorize/Start answer from its cache (OCPP_TAG_EXPIRY_S)."""
    return int(settings.get("ocpp_tag_expiry_s"))


class CallNotAllowed(RuntimeError):
    """A CSMS-initiated call to a charger whose boot is not Accepted (Pending, Rejected or unknown)."""


# Parts of a message read sample by sample (bad samples are skipped and counted, never refused):
# refusing the whole MeterValues or StopTransaction would make the charger resend it forever.
TOLERATED_PARTS = {"MeterValues": "meterValue", "StopTransaction": "transactionData"}
# The 1.6 schemas say "integer" without bounds; these are the values the database can hold.
INTEGER_RANGES = {"connectorId": (0, 2**15), "transactionId": (-(2**31), 2**31 - 1),
                  "meterStart": (-(2**53), 2**53), "meterStop": (-(2**53), 2**53)}


def range_error(payload: dict) -> OCPPError | None:
    for field, (low, high) in INTEGER_RANGES.items():
        value = payload.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
            return PropertyConstraintViolationError(details={"cause": f"{field} is out of range"})
    return None


@functools.cache
def compiled_validator(action: str) -> Callable[[Any], Any] | None:
    """The 1.6 request schema compiled to Python (fastjsonschema): about ten times cheaper than
    jsonschema for a MeterValues (bench/validation.py). None when it cannot be compiled."""
    try:
        schema = get_validator(MessageType.Call, action, "1.6").schema
        return fastjsonschema.compile({k: v for k, v in schema.items() if k != "$schema"}, use_default=False)
    except Exception:  # an unknown action or a schema it cannot compile: jsonschema alone decides
        return None


def schema_error(action: str, payload: Any) -> OCPPError | None:
    """Strict OCPP 1.6 schema check of a charger's request, as the matching CALLERROR.

    The compiled validator answers the common case (a valid message); whenever it objects, jsonschema
    decides and names the error (it is authoritative: the compiled one also checks date-time formats,
    which the 1.6 schemas only annotate, and issue 11 tolerates bad samples inside MeterValues)."""
    if not isinstance(payload, dict):
        return FormationViolationError(details={"cause": "payload must be a JSON object"})
    fast = compiled_validator(action)
    if fast is not None:
        try:
            fast(payload)
            return None
        except fastjsonschema.JsonSchemaException:
            pass
    try:
        validator = get_validator(MessageType.Call, action, "1.6")
    except OSError:
        return None
    tolerated = TOLERATED_PARTS.get(action)
    error = next((e for e in validator.iter_errors(payload)
                  if not (tolerated and list(e.absolute_path)[:1] == [tolerated])), None)
    if error is None:
        return None
    details = {"cause": error.message[:200]}
    kind = error.validator
    if kind == "required":
        return OccurenceConstraintViolationError(details=details)
    if kind in ("type", "maxLength"):
        return TypeConstraintViolationError(details=details)
    if kind == "additionalProperties":
        return FormationViolationError(details=details)
    return PropertyConstraintViolationError(details=details)


def unpack_parsed(data: Any) -> Call | CallResult | CallError:
    """The library's `ocpp.messages.unpack` for a frame already decoded (same errors, same classes),
    so a frame is parsed once for the message log and the routing."""
    if not isinstance(data, list):
        raise ProtocolError(details={"cause": f"OCPP message hasn't the correct format. It should be a list, "
                                              f"but got '{type(data)}' instead"})
    for cls in (Call, CallResult, CallError):
        try:
            if data[0] == cls.message_type_id:
                return cls(*data[1:])
        except IndexError:
            raise ProtocolError(details={"cause": "Message does not contain MessageTypeId"}) from None
        except TypeError:
            raise ProtocolError(details={"cause": "Message is missing elements."}) from None
    raise PropertyConstraintViolationError(details={"cause": f"MessageTypeId '{data[0]}' isn't valid"})


def frame_error(raw: str | bytes, exc: OCPPError) -> CallError:
    """The CALLERROR for a frame that could not be unpacked."""
    try:
        data = json.loads(raw)
    except (ValueError, TypeError):
        return CallError("-1", "FormationViolation", "Message is not valid JSON", {})
    uid = data[1] if isinstance(data, list) and len(data) > 1 and isinstance(data[1], str) else "-1"
    return CallError(uid, "ProtocolError", "Message is not a valid OCPP-J RPC frame",
                     {"cause": str(exc.details.get("cause", ""))[:200]})


@functools.cache
def route_table(cls: type) -> dict[str, dict[str, Any]]:
    """The class's @on/@after handlers by action, as plain functions, built once per class."""
    table = create_route_map(cls)
    for route in table.values():
        route["_skip_schema_validation"] = True  # validated in _handle_call instead, with 1.6 error codes
        for handler in route.values():
            if callable(handler) and "__signature__" not in vars(handler):
                # The library asks inspect.signature(handler) twice per message; a stored signature
                # answers that without parsing the function again.
                handler.__signature__ = inspect.signature(handler)
    return table


class BoundRoutes(Mapping):
    """`route_map` of one connection: the class's route table, bound to the connection on lookup.

    The library builds the map per connection (a dict of bound methods per action, about 3 KiB, and a
    walk over every routable attribute at each handshake); this is one small object instead."""

    __slots__ = ("_owner",)

    def __init__(self, owner: Any) -> None:
        self._owner = owner

    def __getitem__(self, action: str) -> dict[str, Any]:
        route = route_table(type(self._owner))[action]
        return {k: (MethodType(v, self._owner) if callable(v) else v) for k, v in route.items()}

    def __contains__(self, action: object) -> bool:
        return action in route_table(type(self._owner))

    def __iter__(self) -> Iterator[str]:
        return iter(route_table(type(self._owner)))

    def __len__(self) -> int:
        return len(route_table(type(self._owner)))


class CentralChargePoint(ChargePoint):
    """One connected charger: identity, boot status, handlers; `await cp.call(payload)` from node tasks."""

    vendor_handlers: dict[str, Callable[..., Any]] = {}

    def __init__(self, identity: str, connection: Any, node: "Node", info: ocpp_ingest.ConnectInfo,
                 response_timeout: float = 30) -> None:
        # What the library's ChargePoint.__init__ sets, except its per-connection route map (see BoundRoutes;
        # a unit test checks that nothing the library sets is missing here).
        self.id = identity
        self._response_timeout = response_timeout
        self._connection = connection
        self.route_map = BoundRoutes(self)
        self._call_lock = asyncio.Lock()
        self._response_queue: asyncio.Queue = asyncio.Queue()
        self._unique_id_generator = uuid.uuid4
        self.logger = LIBRARY_LOGGER
        self.identity = identity
        self.node = node
        self.boot_status: str | None = info.boot_status
        self.enabled = info.enabled
        self.relaxed_validation = info.relaxed_validation
        self.replaced = False
        self.heartbeat_interval = info.heartbeat_interval
        self._unavailable_requested = False
        self._status_seen: dict[int, datetime] = {}  # newest StatusNotification time per connector
        # What the hot path needs, held by the connection: only this connection starts and stops the
        # charger's transactions, so it keeps this map exact without asking the database.
        self.charge_point_id = info.charge_point_id or None
        self.open_transactions: dict[int, int] = dict(info.open_transactions)
        self.last_message_at = asyncio.get_running_loop().time()
        self._rate = MessageRate(float(settings.get("ocpp_max_messages_per_s")))
        if self.relaxed_validation:
            log.warning("%s: relaxed schema validation is on for this charger", identity)

    # --- framing -----------------------------------------------------------------------------

    async def route_message(self, raw_msg: str | bytes) -> None:
        self.last_message_at = asyncio.get_running_loop().time()
        await self._rate.wait()
        text = raw_msg if isinstance(raw_msg, str) else raw_msg.decode("utf-8", "replace")
        now = utcnow()
        self.node.seen.note(self.identity, now)  # last seen: written in batches (ocpp_server.seen)
        try:
            data = json.loads(text)
        except ValueError:
            self.node.msglog.record(self.identity, "in", text, now, parsed=None)
            log.warning("%s: unreadable frame answered with CALLERROR", self.identity)
            await self._send(frame_error(text, FormationViolationError()).to_json())
            return
        self.node.msglog.record(self.identity, "in", text, now, parsed=data)  # parsed once, for both
        try:
            msg = unpack_parsed(data)
        except OCPPError as exc:
            log.warning("%s: unreadable frame answered with CALLERROR", self.identity)
            await self._send(frame_error(text, exc).to_json())
            return
        if msg.message_type_id == MessageType.Call:
            try:
                await self._handle_call(msg)
            except OCPPError as error:
                log.info("%s: %s refused with %s", self.identity, msg.action, error.code)
                await self._send(msg.create_call_error(error).to_json())
        else:
            self._response_queue.put_nowait(msg)

    async def _handle_call(self, msg: Call) -> Any:
        if msg.action not in self.route_map:
            if msg.action in KNOWN_ACTIONS:
                raise NotSupportedError(details={"cause": f"{msg.action} is not taken by the central system"})
            raise OcppNotImplemented(details={"cause": f"unknown action {str(msg.action)[:40]}"})
        out_of_range = range_error(msg.payload) if isinstance(msg.payload, dict) else None
        if out_of_range is not None:  # never relaxed: the database could not hold it
            raise out_of_range
        error = schema_error(msg.action, msg.payload)
        if error is not None and not (self.relaxed_validation and isinstance(msg.payload, dict)):
            raise error
        if error is not None:
            log.info("%s: relaxed validation let a non-conforming %s through (%s)",
                     self.identity, msg.action, error.details.get("cause"))
        return await super()._handle_call(msg)

    async def _send(self, message: str) -> None:
        self.node.msglog.record(self.identity, "out", message)
        await self._connection.send(message)

    async def call(self, payload: Any, suppress: bool = True, unique_id: str | None = None,
                   skip_schema_validation: bool = False) -> Any:
        """Send a CALL; refused unless the charger's boot was Accepted. TriggerMessage is always allowed:
        it is how a charger that reconnected without booting is asked to boot, and how support asks a
        charger that has not booted on this node for its status."""
        if self.boot_status != RegistrationStatus.accepted and not isinstance(payload, call.TriggerMessage):
            raise CallNotAllowed(f"{self.identity} boot status is {self.boot_status}")
        return await super().call(payload, suppress=suppress, unique_id=unique_id,
                                  skip_schema_validation=skip_schema_validation)

    # --- helpers -----------------------------------------------------------------------------

    async def _db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await self.node.run_db(fn, *args, **kwargs)

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

    @on(Action.boot_notification)
    async def on_boot_notification(self, charge_point_vendor: str, charge_point_model: str,
                                   **kwargs: Any) -> call_result.BootNotification:
        pending = ocpp_ingest.BootOutcome("Pending", ocpp_ingest.RETRY_INTERVAL_S, self.enabled)
        outcome = await self._db_or(
            pending, ocpp_ingest.boot, self.identity, vendor=charge_point_vendor, model=charge_point_model,
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

    async def keep_unavailable(self) -> None:
        """A disabled charge point may connect but stays Inoperative (asked once per connection)."""
        if self._unavailable_requested:
            return
        self._unavailable_requested = True
        try:
            result = await self.call(call.ChangeAvailability(connector_id=0, type=AvailabilityType.inoperative))
            log.info("%s: disabled, ChangeAvailability Inoperative -> %s", self.identity,
                     getattr(result, "status", None))
        except (CallNotAllowed, asyncio.TimeoutError) as exc:
            log.warning("%s: could not make the disabled charger unavailable: %s", self.identity, exc)

    @on(Action.heartbeat)
    async def on_heartbeat(self, **kwargs: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=format_time(utcnow()))  # last seen: noted in route_message

    @on(Action.status_notification)
    async def on_status_notification(self, connector_id: int, error_code: str, status: str,
                                     **kwargs: Any) -> call_result.StatusNotification:
        unchanged = ocpp_ingest.StatusOutcome(self.enabled, None)
        outcome = await self._db_or(
            unchanged, ocpp_ingest.status_notification, self.identity, connector_id=connector_id, status=status,
            error_code=error_code, info=kwargs.get("info"), vendor_error_code=kwargs.get("vendor_error_code"),
            timestamp=self._time(kwargs.get("timestamp"), "timestamp"), now=utcnow(),
            newest_seen=self._status_seen.get(connector_id),
        )
        if outcome.at is not None:
            newest = self._status_seen.get(connector_id)
            self._status_seen[connector_id] = max(outcome.at, newest) if newest else outcome.at
        self.enabled = outcome.enabled
        if outcome.jobs:
            await self.node.enqueue_after_commit(outcome.jobs)
        return call_result.StatusNotification()

    @after(Action.status_notification)
    async def after_status_notification(self, connector_id: int, status: str, **kwargs: Any) -> None:
        if self.enabled:
            self._unavailable_requested = False
        elif status not in ("Unavailable", "Faulted") and self.boot_status == RegistrationStatus.accepted:
            self._spawn(self.keep_unavailable())

    @on(Action.authorize)
    async def on_authorize(self, id_tag: str, **kwargs: Any) -> call_result.Authorize:
        status = await self._db_or(None, ocpp_ingest.authorize, self.identity, id_tag, utcnow())
        if status is None:  # no decision possible: refuse, without an expiry so nothing is cached
            return call_result.Authorize(id_tag_info={"status": "Invalid"})
        return call_result.Authorize(id_tag_info=self._id_tag_info(status))

    @on(Action.start_transaction)
    async def on_start_transaction(self, connector_id: int, id_tag: str, meter_start: int, timestamp: str,
                                   **kwargs: Any) -> call_result.StartTransaction:
        outcome = await self._db(
            ocpp_ingest.start_transaction, self.identity, connector_id=connector_id, id_tag=id_tag,
            meter_start=meter_start, timestamp=self._charger_time(timestamp), now=utcnow(),
        )
        if outcome.status == "Accepted":
            self.open_transactions[connector_id] = outcome.transaction_id
        log.info("%s: StartTransaction connector %s -> tx %s %s%s", self.identity, connector_id,
                 outcome.transaction_id, outcome.status, " (duplicate)" if outcome.duplicate else "")
        return call_result.StartTransaction(transaction_id=outcome.transaction_id,
                                            id_tag_info=self._id_tag_info(outcome.status))

    @on(Action.meter_values)
    async def on_meter_values(self, connector_id: int, meter_value: list, **kwargs: Any) -> call_result.MeterValues:
        await self._db(ocpp_ingest.meter_values, self.identity, connector_id=connector_id,
                       transaction_id=kwargs.get("transaction_id"), meter_value=meter_value, now=utcnow(),
                       charge_point_id=self.charge_point_id,
                       open_transaction_id=self.open_transactions.get(connector_id))
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    async def on_stop_transaction(self, meter_stop: int, timestamp: str, transaction_id: int,
                                  **kwargs: Any) -> call_result.StopTransaction:
        payload = snake_to_camel_case({"meter_stop": meter_stop, "timestamp": timestamp,
                                       "transaction_id": transaction_id, **kwargs})
        status = await self._db(
            ocpp_ingest.stop_transaction, self.identity, transaction_id=transaction_id, meter_stop=meter_stop,
            timestamp=self._charger_time(timestamp), reason=kwargs.get("reason"), id_tag=kwargs.get("id_tag"),
            transaction_data=kwargs.get("transaction_data"), payload=payload, now=utcnow(),
        )
        for connector, open_id in list(self.open_transactions.items()):
            if open_id == transaction_id:
                del self.open_transactions[connector]
        return call_result.StopTransaction(id_tag_info=self._id_tag_info(status) if status else None)

    @on(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: str, **kwargs: Any) -> call_result.DataTransfer:
        handler = self.vendor_handlers.get(vendor_id)
        if handler is None:
            return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)
        return await handler(self, message_id=kwargs.get("message_id"), data=kwargs.get("data"))

    @on(Action.diagnostics_status_notification)
    async def on_diagnostics_status(self, **kwargs: Any) -> call_result.DiagnosticsStatusNotification:
        return call_result.DiagnosticsStatusNotification()

    @on(Action.firmware_status_notification)
    async def on_firmware_status(self, **kwargs: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()
