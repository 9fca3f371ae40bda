"""Idle and half-open charger sockets, found by one sweep over every connection of a node."""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from ocpp_server.tasks import cancel_and_wait
from portal import settings

if TYPE_CHECKING:
    from ocpp_server.node import Node
    from ocpp_server.v16 import CentralChargePoint

log = logging.getLogger(__name__)


def idle_limit_s(heartbeat_interval: int) -> float:
    configured = float(settings.get("ocpp_idle_timeout_s"))
    return configured if configured > 0 else max(3 * heartbeat_interval, 300)


class _Watched:
    __slots__ = ("connection", "idle_limit", "pong", "pinged_at", "alive_at", "closing")

    def __init__(self, connection: ServerConnection, idle_limit: float, now: float) -> None:
        self.connection = connection
        self.idle_limit = idle_limit
        self.pong: asyncio.Future | None = None  # the answer to our outstanding ping
        self.pinged_at = 0.0
        self.alive_at = now  # the last pong (messages count through cp.last_message_at)
        self.closing = False


class Liveness:
    """Idle and half-open sockets, found by one sweep over every connection of the node.

    The same rules as before, without two timer tasks per connection (websockets' keepalive task and
    an idle watchdog each; at 20,000 chargers that is 40,000 sleeping tasks and their timers):
    - a socket over which no OCPP message arrived for longer than its idle limit is closed (1001 "idle");
    - a socket silent (no message, no pong) for the ping interval is pinged; when the pong does not come
      within the ping timeout it is closed (1011, as websockets' keepalive does), so a charger gone
      without a FIN is found. A charger that sends messages proves it is there and is not pinged.
    The sweep runs every third of the shorter of the two limits and yields to the loop every
    SWEEP_SLICE connections, so it never holds the loop for long."""

    SWEEP_SLICE = 1000

    def __init__(self, node: "Node", ping_interval: float, ping_timeout: float, idle_timeout: float) -> None:
        self.node = node
        self.ping_interval = ping_interval  # <= 0: no pings
        self.ping_timeout = ping_timeout
        shortest = min(x for x in (ping_interval, idle_timeout if idle_timeout > 0 else 300, 300) if x > 0)
        self.tick = max(shortest / 3, 0.05)
        self._watched: dict["CentralChargePoint", _Watched] = {}
        self._task: asyncio.Task | None = None
        self.pings = 0  # for tests and benchmarks

    @classmethod
    def from_settings(cls, node: "Node") -> "Liveness":
        ping = float(settings.get("ocpp_ping_interval_s"))
        return cls(node, ping, ping, float(settings.get("ocpp_idle_timeout_s")))

    def watch(self, cp: "CentralChargePoint", connection: ServerConnection) -> None:
        loop = asyncio.get_running_loop()
        self._watched[cp] = _Watched(connection, idle_limit_s(cp.heartbeat_interval), loop.time())

    def forget(self, cp: "CentralChargePoint") -> None:
        self._watched.pop(cp, None)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ocpp-liveness")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            try:
                await self.sweep()
            except Exception:
                log.exception("liveness sweep failed; next one in %.1f s", self.tick)

    async def sweep(self) -> None:
        loop = asyncio.get_running_loop()
        for i, (cp, w) in enumerate(list(self._watched.items())):
            if i and i % self.SWEEP_SLICE == 0:
                await asyncio.sleep(0)
            if w.closing or cp not in self._watched:
                continue
            now = loop.time()
            if now - cp.last_message_at >= w.idle_limit:
                log.warning("%s: no message for %.0f s; closing the socket", cp.identity, w.idle_limit)
                self._close(cp, w, 1001, "idle")
                continue
            if self.ping_interval <= 0:
                continue
            if w.pong is not None:
                if w.pong.done():
                    w.pong, w.alive_at = None, now
                elif now - w.pinged_at >= self.ping_timeout:
                    log.warning("%s: no pong within %.0f s; closing the socket", cp.identity, self.ping_timeout)
                    self._close(cp, w, 1011, "keepalive ping timeout")
                continue
            if now - max(cp.last_message_at, w.alive_at) >= self.ping_interval:
                await self._ping(w, now)

    async def _ping(self, w: _Watched, now: float) -> None:
        if w.connection.state is not State.OPEN:
            return  # closing: ping() would wait for the close to finish and hold up the sweep
        if w.connection.transport is None or w.connection.transport.get_write_buffer_size() > 0:
            return  # unsent data is waiting already: a ping would wait behind it; the idle limit applies
        try:
            w.pong = await w.connection.ping()
        except (ConnectionClosed, RuntimeError):
            return
        w.pong.add_done_callback(_ignore_outcome)
        w.pinged_at = now
        self.pings += 1

    def _close(self, cp: "CentralChargePoint", w: _Watched, code: int, reason: str) -> None:
        w.closing = True
        self.node.spawn(w.connection.close(code, reason), name=f"{cp.identity}-close")


def _ignore_outcome(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()  # a pong waiter fails with ConnectionClosed when the socket goes; nobody awaits it
