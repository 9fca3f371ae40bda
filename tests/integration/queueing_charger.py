"""A charger that behaves like real ones when the central system fails: it queues its transaction
messages (StartTransaction, MeterValues, StopTransaction) and resends each until it is answered.

OCPP 1.6 asks chargers to keep transaction-related messages until the central system confirms
them. This client does exactly that: one message in flight; on a lost connection, a timeout or an
InternalError it reconnects (or waits) and sends the same message again; MeterValues and the stop
of a session whose start is not answered yet wait for its transaction id. It records every message
the central system acknowledged, so tests can prove nothing acknowledged was lost.
"""
from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus


@dataclass
class Queued:
    action: str
    payload: dict
    session: str  # the charger's own name for the session, until the central system gives an id


@dataclass
class Session:
    meter_start: int
    readings: list[int] = field(default_factory=list)
    meter_stop: int | None = None
    transaction_id: int | None = None


class QueueingCharger:
    def __init__(self, url: str, identity: str, password: str, pause_s: float = 0.0) -> None:
        self.url, self.identity, self.password = url.rstrip("/"), identity, password
        self.pause_s = pause_s
        self.queue: deque[Queued] = deque()
        self.sessions: dict[str, Session] = {}
        self.acknowledged: list[tuple[str, dict, list]] = []
        self.retries = 0
        self.reconnects = 0
        self._ws: ClientConnection | None = None

    # --- what the charger does ---------------------------------------------------------------

    def start(self, name: str, tag: str, meter: int, at: datetime, connector: int = 1) -> None:
        self.sessions[name] = Session(meter)
        self.queue.append(Queued("StartTransaction", {"connectorId": connector, "idTag": tag, "meterStart": meter,
                                                      "timestamp": at.isoformat()}, name))

    def meter(self, name: str, wh: int, at: datetime, connector: int = 1) -> None:
        self.sessions[name].readings.append(wh)
        self.queue.append(Queued("MeterValues", {"connectorId": connector, "meterValue": [
            {"timestamp": at.isoformat(), "sampledValue": [{"value": str(wh), "context": "Sample.Periodic"}]}]},
            name))

    def stop(self, name: str, wh: int, at: datetime) -> None:
        self.sessions[name].meter_stop = wh
        self.queue.append(Queued("StopTransaction", {"meterStop": wh, "timestamp": at.isoformat(),
                                                     "reason": "EVDisconnected"}, name))

    # --- delivering the queue ------------------------------------------------------------------

    async def _connect(self) -> ClientConnection:
        token = base64.b64encode(f"{self.identity}:{self.password}".encode()).decode()
        return await connect(f"{self.url}/{self.identity}", subprotocols=["ocpp1.6"], open_timeout=5,
                             additional_headers={"Authorization": f"Basic {token}"}, ping_interval=None)

    async def _ensure_connected(self) -> ClientConnection:
        while self._ws is None:
            try:
                self._ws = await self._connect()
                self.reconnects += 1
            except (OSError, InvalidStatus, ConnectionClosed, asyncio.TimeoutError):
                await asyncio.sleep(0.3)
        return self._ws

    async def _exchange(self, frame: list) -> list | None:
        """Send one CALL and wait for its answer; None when the connection failed (resend later)."""
        ws = await self._ensure_connected()
        try:
            await ws.send(json.dumps(frame))
            while True:
                reply = json.loads(await asyncio.wait_for(ws.recv(), 15))
                if reply[0] == 2:  # a call from the central system: accept whatever it is
                    await ws.send(json.dumps([3, reply[1], {"status": "Accepted"}]))
                elif reply[1] == frame[1]:
                    return reply
        except (ConnectionClosed, OSError, asyncio.TimeoutError):
            await self._drop()
            return None

    async def _drop(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            try:
                await asyncio.wait_for(ws.close(), 2)
            except (ConnectionClosed, OSError, asyncio.TimeoutError):
                pass

    def _payload(self, item: Queued) -> dict | None:
        tx = self.sessions[item.session].transaction_id
        if item.action == "StartTransaction":
            return item.payload
        if tx is None:
            return None
        return {**item.payload, "transactionId": tx}

    async def deliver(self) -> None:
        """Send the queue in order until every message is answered with a CALLRESULT."""
        while self.queue:
            item = self.queue[0]
            payload = self._payload(item)
            reply = await self._exchange([2, uuid.uuid4().hex[:20], item.action, payload])
            if reply is None or reply[0] == 4:
                if reply is not None and reply[2] != "InternalError":
                    raise AssertionError(f"{self.identity}: {item.action} refused for good: {reply}")
                self.retries += 1
                await asyncio.sleep(0.3)
                continue
            if item.action == "StartTransaction":
                self.sessions[item.session].transaction_id = reply[2]["transactionId"]
            self.acknowledged.append((item.action, payload, reply))
            self.queue.popleft()
            if self.pause_s:
                await asyncio.sleep(self.pause_s)

    async def heartbeat(self) -> Any:
        return await self._exchange([2, uuid.uuid4().hex[:20], "Heartbeat", {}])

    async def close(self) -> None:
        await self._drop()
