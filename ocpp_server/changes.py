"""The node's side of the change channel (portal.db.CHANGES_CHANNEL): publishing its own commits and
dropping from its charger cache (ocpp_server.cache) what other processes changed."""
from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ocpp_server.cache import ChargerCache
from portal.db import CHANGES_CHANNEL, ChangeAnnouncer, Changes

if TYPE_CHECKING:
    from ocpp_server.node import Node

log = logging.getLogger(__name__)


class NodeAnnouncer(ChangeAnnouncer):
    """The node's own commits: its cache learns first (in the writer thread), then the other nodes, by a
    publish from the event loop (the answers do not wait for Redis)."""

    def __init__(self, node: "Node", cache: ChargerCache) -> None:
        super().__init__(node.redis_url, origin=node.node_id)
        self.node = node
        self.cache = cache
        self.loop: asyncio.AbstractEventLoop | None = None

    def announce(self, found: Changes) -> None:
        self.cache.written(found)
        message = found.message(self.origin)
        if message is None:
            return
        loop = self.loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._publish_soon, message)
                return
            except RuntimeError:  # the loop closed meanwhile
                pass
        super().announce(found)

    def _publish_soon(self, message: str) -> None:
        self.node.spawn(self._publish(message), name="ocpp-announce")

    async def _publish(self, message: str) -> None:
        try:
            await self.node.redis.publish(CHANGES_CHANNEL, message)
            self.published += 1
        except Exception as exc:
            self.lost += 1
            log.warning("charger changes not announced (Redis: %s); other nodes see them within their cache age", exc)


async def listen(node: "Node", cache: ChargerCache, retry_s: float = 1.0) -> None:
    """Drop what other processes changed. The cache is on only while subscribed, and cleared on every
    (re)subscription: what was published while we were away is lost."""
    while True:
        # No silent reconnects: a lost connection must turn the cache off (redis-py would otherwise
        # reconnect and resubscribe inside get_message, hiding the gap).
        client = Redis.from_url(node.redis_url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=2,
                                health_check_interval=0)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(CHANGES_CHANNEL)
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    cache.clear()
                    cache.enabled = True
                    log.info("charger cache on (subscribed to %s)", CHANGES_CHANNEL)
                elif message["type"] == "message":
                    _apply(node, cache, message["data"])
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if cache.enabled:
                log.warning("charger cache off: change channel lost (%s); retrying", exc)
        finally:
            cache.enabled = False
            cache.clear()
            try:
                await pubsub.aclose()
                await client.aclose()
            except Exception:
                pass
        await asyncio.sleep(retry_s)


def _apply(node: "Node", cache: ChargerCache, data: Any) -> None:
    try:
        change = json.loads(data)
        if change.get("origin") == node.node_id:
            return  # our own commit: the writer already told the cache
        cache.drop(charge_points=[int(i) for i in change.get("cp", ())],
                   sites=[int(i) for i in change.get("site", ())], everything=bool(change.get("all")))
    except (ValueError, TypeError, AttributeError):
        log.warning("unreadable charger change message %r: cache cleared", data[:200] if data else data)
        cache.clear()
