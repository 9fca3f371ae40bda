"""The call path between workers and OCPP nodes, through Redis.

Keys (all short-lived, so nothing outlives a dead process for long):
  ocpp:claim:<identity>        node id holding the charger; set on connect, refreshed every
                               CLAIM_TTL_S / 3, deleted on disconnect; expires when the node dies
  ocpp:calls:<node id>         list of JSON calls for that node (worker RPUSH, node BLPOP)
  ocpp:reply:<call id>         list holding the node's one JSON reply (node RPUSH, worker BLPOP)

A call: {"id", "identity", "action", "payload" (OCPP camelCase), "deadline" (epoch seconds)}.
A reply: {"status": "ok", "response": {...}} or {"status": <error>, "detail": "..."} where
error is one of ERRORS. The node answers at once when it does not hold the charger, keeps one
call in flight per charger (calls wait on the connection's `in_flight` lock, the one lock for that;
the deadline covers the wait), and drops a call whose deadline passed before it could be sent.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import asdict, is_dataclass
from typing import TYPE_CHECKING, Any

from ocpp.charge_point import camel_to_snake_case, remove_nones, snake_to_camel_case
from ocpp.exceptions import OCPPError
from ocpp.v16 import call as v16_call
from redis.exceptions import RedisError
from websockets.exceptions import ConnectionClosed

from portal import settings
from ocpp_server.auth import BatchedLookup


if TYPE_CHECKING:
    from ocpp_server.node import Node

log = logging.getLogger(__name__)

CLAIM_PREFIX = "ocpp:claim:"
ERRORS = ("not_connected", "not_accepted", "expired", "timeout", "call_error", "connection_lost", "bad_call")
# Calls allowed to a charger whose boot was not accepted (on this connection): asking it to boot again.
BOOTLESS_ACTIONS = ("TriggerMessage",)
REPLY_TTL_S = 120
CLAIM_RENEW_SLICE = 500  # claims renewed per Redis pipeline (the loop runs other work between slices)
REPLY_ATTEMPTS = 4
QUEUE_TTL_S = 120
# Compare-and-delete: only the node that holds a claim may remove it.
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
# Renew our claim (or take a lapsed one), never one another node took with a newer connection.
_RENEW = """local v = redis.call('get', KEYS[1])
if v == false or v == ARGV[1] then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0"""


def claim_ttl_s() -> float:
    return settings.get("ocpp_claim_ttl_s")


def claim_key(identity: str) -> str:
    return CLAIM_PREFIX + identity


CALLS_PREFIX = "ocpp:calls:"


def calls_key(node_id: str) -> str:
    return CALLS_PREFIX + node_id


def reply_key(call_id: str) -> str:
    return f"ocpp:reply:{call_id}"


# The worker's side of a call in one round trip: the node holding the charger (nil: none), and the
# call appended to that node's list (which expires if no node reads it).
_HAND_OVER = """local node = redis.call('get', KEYS[1])
if not node then return false end
local queue = ARGV[1] .. node
redis.call('rpush', queue, ARGV[2])
redis.call('expire', queue, ARGV[3])
return node"""


def hand_over(redis: Any, identity: str, call_json: str) -> str | None:
    """Queue a JSON call for the node that holds `identity` (a sync Redis client); its node id, or None."""
    node = redis.eval(_HAND_OVER, 1, claim_key(identity), CALLS_PREFIX, call_json, QUEUE_TTL_S)
    return node.decode() if isinstance(node, bytes) else node


# --- claims ----------------------------------------------------------------------------------------

def claim_writer(redis: Any, node_id: str) -> BatchedLookup:
    """A node's claim SETs gathered per few milliseconds into one pipeline (a reconnect storm makes
    hundreds a second; one round trip each cost more CPU than the rest of the claim). Node builds it."""
    async def set_claims(identities: list[str]) -> dict[str, Any]:
        async with redis.pipeline(transaction=False) as pipe:
            for identity in identities:
                pipe.set(claim_key(identity), node_id, px=int(claim_ttl_s() * 1000))
            await pipe.execute()
        return {}
    return BatchedLookup(set_claims, name="ocpp-claims")


async def on_charger_connected(node: "Node", identity: str) -> None:
    """This node now holds the charger (a newer connection elsewhere simply overwrites the claim).

    Returns once the claim is set (in a pipeline with the other connects of the same few ms)."""
    await node.claims.get(identity)


async def on_charger_disconnected(node: "Node", identity: str) -> None:
    await node.redis.eval(_RELEASE, 1, claim_key(identity), node.node_id)


async def refresh_claims(node: "Node") -> None:
    """Renew the claims of every live connection; a node that stops renewing loses them.

    A claim another node holds is left alone: that node has the charger's newer connection, so the
    socket here is one that has not noticed it is dead yet, and it is closed."""
    while True:
        ttl = claim_ttl_s()
        try:
            identities = list(node.connections)
            # In slices: one pipeline for 10,000 chargers held the event loop for 250-430 ms (building
            # it and parsing the answers), a stall every few seconds that every charger's reply waited out.
            for start in range(0, len(identities), CLAIM_RENEW_SLICE):
                part = identities[start:start + CLAIM_RENEW_SLICE]
                async with node.redis.pipeline(transaction=False) as pipe:
                    for identity in part:
                        pipe.eval(_RENEW, 1, claim_key(identity), node.node_id, int(ttl * 1000))
                    renewed = await pipe.execute()
                for identity, ok in zip(part, renewed):
                    if not ok:
                        _close_superseded(node, identity)
                await asyncio.sleep(0)
        except RedisError as exc:
            log.warning("node %s: could not refresh charger claims: %s", node.node_id, exc)
        await asyncio.sleep(ttl / 3)


def _close_superseded(node: "Node", identity: str) -> None:
    """Another node holds the claim because the charger connected there later: our socket is stale."""
    cp = node.connections.get(identity)
    if cp is None:
        return
    log.info("%s: reconnected to another node; closing the stale socket on node %s", identity, node.node_id)
    node.spawn(cp.socket.close(1000, "reconnected to another node"), name=f"{identity}-superseded")


# --- serving calls ---------------------------------------------------------------------------------


async def serve(node: "Node") -> None:
    """Take calls for this node from Redis and carry them out, each in its own task."""
    node.spawn(refresh_claims(node), name="ocpp-claims")
    key = calls_key(node.node_id)
    log.info("node %s: serving charger calls from %s", node.node_id, key)
    while True:
        try:
            item = await node.redis.blpop([key], timeout=1)
        except RedisError as exc:
            log.warning("node %s: Redis unavailable for calls: %s", node.node_id, exc)
            await asyncio.sleep(1)
            continue
        if item is not None:
            node.spawn(handle(node, item[1]), name="ocpp-call")


def _json_number(value: Any) -> Any:
    """Decimals in a charger's answer (the ocpp package reads JSON numbers such as a schedule's limit as
    Decimal) as JSON numbers."""
    from decimal import Decimal
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


async def handle(node: "Node", raw: bytes | str) -> None:
    """Carry out one call and push the reply to the worker waiting for it."""
    try:
        request = json.loads(raw)
        call_id = str(request["id"])
    except (ValueError, KeyError, TypeError):
        log.error("node %s: unreadable call dropped: %r", node.node_id, raw[:200])
        return
    reply = await execute(node, request)
    key = reply_key(call_id)
    for attempt in range(1, REPLY_ATTEMPTS + 1):
        try:
            async with node.redis.pipeline(transaction=True) as pipe:
                pipe.rpush(key, json.dumps(reply, default=_json_number))
                pipe.expire(key, REPLY_TTL_S)
                await pipe.execute()
            return
        except RedisError as exc:  # a connection left stale by a Redis restart fails once; try a fresh one
            if attempt == REPLY_ATTEMPTS:
                log.error("node %s: reply to call %s lost: %s", node.node_id, call_id, exc)
            else:
                await asyncio.sleep(0.2 * attempt)


def build_payload(action: str, payload: dict) -> Any:
    """The ocpp dataclass for an action and its camelCase payload."""
    cls = getattr(v16_call, action)
    return cls(**camel_to_snake_case(payload or {}))


def response_dict(result: Any) -> dict:
    data = asdict(result) if is_dataclass(result) else dict(result or {})
    return remove_nones(snake_to_camel_case(data))


async def execute(node: "Node", request: dict) -> dict:
    """Run one call on the charger's live connection, within the call's deadline."""
    identity, action = request.get("identity"), request.get("action")
    remaining = float(request.get("deadline", 0)) - time.time()
    if remaining <= 0:
        log.warning("%s: %s call dropped, deadline already passed", identity, action)
        return {"status": "expired", "detail": "deadline passed before the node received the call"}
    if identity not in node.connections:
        return {"status": "not_connected", "detail": f"node {node.node_id} does not hold {identity}"}
    try:
        payload = build_payload(action, request.get("payload") or {})
    except (AttributeError, TypeError) as exc:
        return {"status": "bad_call", "detail": str(exc)[:200]}
    sent: list[bool] = []  # set once the call is on its way (a timeout after that is the charger's)
    try:
        async with asyncio.timeout(remaining):
            result = await _call_when_free(node, identity, action, payload, str(request["id"])[:36], sent)
    except TimeoutError:
        if not sent:
            log.warning("%s: %s dropped, the charger was busy until the deadline", identity, action)
            return {"status": "expired", "detail": "the charger was busy with another call until the deadline"}
        return {"status": "timeout", "detail": "the charger did not answer in time"}
    except OCPPError as exc:
        return {"status": "call_error", "detail": f"{exc.code}: {exc.description}"[:300]}
    except ConnectionClosed:
        return {"status": "connection_lost", "detail": "the connection closed before the answer"}
    except Exception as exc:  # noqa: BLE001 - CallNotAllowed and anything else: answer, never hang the worker
        log.exception("%s: %s failed", identity, action)
        return {"status": "not_accepted" if type(exc).__name__ == "CallNotAllowed" else "call_error",
                "detail": str(exc)[:300]}
    if isinstance(result, dict):  # answered without sending
        return result
    return {"status": "ok", "response": response_dict(result)}


async def _call_when_free(node: "Node", identity: str, action: str, payload: Any, unique_id: str,
                          sent: list[bool]) -> Any:
    """Wait for the charger's connection to have no call in flight, then send; a reply dict when not sent."""
    while True:  # the connection's lock; a newer connection of the charger has its own
        cp = node.connections.get(identity)
        if cp is None:
            return {"status": "not_connected", "detail": f"{identity} went away"}
        async with cp.in_flight:
            if node.connections.get(identity) is not cp:
                continue  # replaced while we waited: wait on the new connection
            if cp.boot_status != "Accepted" and action not in BOOTLESS_ACTIONS:
                return {"status": "not_accepted", "detail": f"boot status {cp.boot_status}"}
            sent.append(True)
            return await cp.call_in_flight(payload, suppress=False, unique_id=unique_id)
