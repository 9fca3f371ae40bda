"""Helpers for OCPP integration tests: a real node on an ephemeral port, raw clients, DB polling."""
from __future__ import annotations

import asyncio
import base64
import json
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable

from websockets.asyncio.client import ClientConnection, connect

from ocpp_server.node import Node
from ocpp_server.server import bound_port, running
from ocpp_server.simulator import Options, SimulatedCharger
from portal.db import Database
from tests.factories import CHARGER_SECRET


def run(coro: Any, timeout: float = 40) -> Any:
    """Run one async scenario from a plain pytest test."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


@asynccontextmanager
async def ocpp_node(db: Database, redis_url: str, node_id: str = "test-node") -> AsyncIterator[Node]:
    node = Node(node_id=node_id, db=db, redis_url=redis_url, response_timeout=5)
    stale = [key async for key in node.redis.scan_iter(match="ocpp:authfail:*")]
    if stale:  # failed log-ins counted by earlier tests (all from 127.0.0.1) must not slow this one down
        await node.redis.delete(*stale)
    async with running(node, "127.0.0.1", 0) as server:
        node.url = f"ws://127.0.0.1:{bound_port(server)}/ocpp"  # type: ignore[attr-defined]
        yield node


@asynccontextmanager
async def simulator(node: Node, identity: str, password: str = CHARGER_SECRET, **options: Any
                    ) -> AsyncIterator[SimulatedCharger]:
    options.setdefault("meter_interval", 1)
    sim = SimulatedCharger(node.url, identity, password, Options(**options), response_timeout=5)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.close()


async def query(db: Database, fn: Callable[[Any], Any]) -> Any:
    """fn(session) in a thread, with a fresh session."""
    def work() -> Any:
        with db.session() as s:
            return fn(s)
    return await asyncio.to_thread(work)


async def until(condition: Callable[[], Any], timeout: float = 20, what: str = "") -> Any:
    """Wait (yielding to the loop) until condition() is truthy; generous, as the machine is shared."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := condition()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached in {timeout}s: {what or condition}")
        await asyncio.sleep(0.02)
    return value


async def eventually(db: Database, fn: Callable[[Any], Any], timeout: float = 30) -> Any:
    """Poll fn(session) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await query(db, fn)
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met in {timeout}s: {fn}")
        await asyncio.sleep(0.1)


def basic(identity: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{identity}:{password}".encode()).decode()}


class RawCharger:
    """A hand-driven OCPP client for frames no well-behaved charger sends."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.received_calls: list[list] = []

    async def send_raw(self, text: str) -> list:
        """Send a frame and return the next reply that is not a CALL from the server."""
        await self.ws.send(text)
        return await self.reply()

    async def reply(self) -> list:
        while True:
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), 5))
            if frame[0] == 2:
                self.received_calls.append(frame)
                await self.ws.send(json.dumps([3, frame[1], {"status": "Accepted"}]))
                continue
            return frame

    async def call(self, action: str, payload: dict) -> list:
        return await self.send_raw(json.dumps([2, uuid.uuid4().hex[:12], action, payload]))


@asynccontextmanager
async def raw_charger(node: Node, identity: str, password: str = CHARGER_SECRET) -> AsyncIterator[RawCharger]:
    async with connect(f"{node.url}/{identity}", subprotocols=["ocpp1.6"],
                       additional_headers=basic(identity, password)) as ws:
        yield RawCharger(ws)
