"""One OCPP server node: its live charger connections and the parts that serve them, built in one place.

Node.__init__ composes the parts and hands each what it needs:
  writer        group commit (ocpp_server.writer) over the charger cache (ocpp_server.cache), whose
                sessions announce the node's commits through its announcer (ocpp_server.changes)
  msglog, seen  the message log and the last-seen times, written in batches
  secrets, credentials, auth_failures   the authentication gate (ocpp_server.auth)
  refused       refused handshakes, written to the waiting list in batches (ocpp_server.waiting)
  claims        which chargers this node holds, in Redis (ocpp_server.calls), set in batches
  liveness      idle and half-open sockets (ocpp_server.liveness)
start() runs the background loops; the call server (ocpp_server.calls.serve) takes workers' calls.
"""
from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from typing import TYPE_CHECKING, Any, Callable, Coroutine

import redis.asyncio as aioredis
from sqlalchemy.exc import DBAPIError

from ocpp_server import calls
from ocpp_server.auth import CredentialLookup, VerifiedSecrets, failure_lookup
from ocpp_server.cache import ChargerCache
from ocpp_server.changes import NodeAnnouncer, listen as cache_listen
from ocpp_server.liveness import Liveness
from ocpp_server.msglog import MessageLog
from ocpp_server.ocpp_adapter import check_versions
from ocpp_server.seen import LastSeen
from ocpp_server.waiting import RefusedAttempts
from ocpp_server.writer import GroupWriter
from portal import settings
from portal.db import Database, utcnow
from portal.services import ocpp_ingest
from portal.services.charging import actions
from portal.services.charging import action_queue

if TYPE_CHECKING:
    from ocpp_server.v16 import CentralChargePoint

log = logging.getLogger(__name__)
REDIS_POOL = 64


def default_node_id() -> str:
    """Unique per process, so two nodes started without OCPP_NODE_ID never share one."""
    return f"{socket.gethostname()[:30]}-{os.getpid()}-{secrets.token_hex(3)}"


class Node:
    """State of one OCPP node; nothing here is needed by another process (that lives in the DB and Redis)."""

    def __init__(self, *, node_id: str, db: Database, redis_url: str, response_timeout: float = 30) -> None:
        self.node_id = node_id
        self.db = db
        self.redis_url = redis_url
        # A blocking pool: in a reconnect storm thousands of claims are set at once; they wait for one of
        # REDIS_POOL connections instead of failing with "Too many connections" (which lost claims).
        self.redis = aioredis.Redis.from_pool(aioredis.BlockingConnectionPool.from_url(
            redis_url, max_connections=REDIS_POOL, timeout=30))
        self.connections: dict[str, "CentralChargePoint"] = {}
        self.cache = ChargerCache()
        self.announcer = NodeAnnouncer(self, self.cache)
        self.writer = GroupWriter(db, cache=self.cache, session_factory=db.tracked_sessions(self.announcer))
        self.msglog = MessageLog(db, run=self.run_db)
        self.seen = LastSeen(self)
        self.secrets = VerifiedSecrets()
        self.credentials = CredentialLookup(self.read_db)
        self.auth_failures = failure_lookup(self.redis)
        self.refused = RefusedAttempts(self)  # the waiting list of refused chargers
        self.claims = calls.claim_writer(self.redis, node_id)
        self.liveness = Liveness.from_settings(self)
        self.response_timeout = response_timeout
        self._tasks: set[asyncio.Task] = set()
        self._registering: dict[str, asyncio.Lock] = {}  # attach/detach of one identity, one at a time
        self.db_errors = 0  # database calls that failed (timeouts included), for /healthz
        self._last_db_ok = self._last_db_error = 0.0

    @classmethod
    def from_settings(cls, **overrides: Any) -> "Node":
        return cls(
            node_id=overrides.get("node_id") or settings.get("ocpp_node_id") or default_node_id(),
            db=overrides.get("db") or Database.from_url(
                settings.get("database_url"), statement_timeout_s=float(settings.get("ocpp_db_statement_timeout_s"))),
            redis_url=overrides.get("redis_url") or settings.get("redis_url"),
        )

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        check_versions()
        self.announcer.loop = asyncio.get_running_loop()
        self.spawn(cache_listen(self, self.cache), name="ocpp-cache-listen")
        self.msglog.start()
        self.writer.start()
        self.seen.start()
        self.refused.start()
        stale = await self.run_db(ocpp_ingest.node_stopped, self.node_id, utcnow())
        if stale:
            log.info("node %s: %d chargers left online by a previous run marked offline", self.node_id, stale)
        self.spawn(calls.serve(self), name="ocpp-calls")

    async def stop(self) -> None:
        """After the server closed its sockets: finish follow-ups, flush the log, release resources."""
        self.announcer.loop = None  # from now on the writer publishes itself (no new tasks)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.seen.stop()
        await self.refused.stop()
        await self.run_db(ocpp_ingest.node_stopped, self.node_id, utcnow())
        await self.writer.stop()
        self.cache.close()
        await self.msglog.stop()
        await self.redis.aclose()
        log.info("node %s: charger cache %s", self.node_id, self.cache.stats())

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task:
        """A background task the node keeps a reference to and cancels at shutdown."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    # --- database ----------------------------------------------------------------------------

    async def run_db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a domain function fn(session, ...) in the node's group commit (ocpp_server.writer).

        Returns once the transaction holding it has committed."""
        return await self._counted(self.writer.submit(fn, *args, **kwargs))

    async def run_for(self, identity: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A per-charger message fn(session, identity, *args, batch=..., **kwargs) in the group commit."""
        return await self._counted(self.writer.submit_for(identity, fn, *args, **kwargs))

    async def _counted(self, submitted: Coroutine[Any, Any, Any]) -> Any:
        try:
            result = await submitted
        except Exception as exc:
            if isinstance(exc, (DBAPIError, TimeoutError)):
                self.db_errors += 1
                self._last_db_error = time.monotonic()
            raise
        self._last_db_ok = time.monotonic()
        return result

    async def read_db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A read-only lookup in a worker thread, outside the writer's queue (the handshake uses it)."""
        return await asyncio.to_thread(self._read, fn, *args, **kwargs)

    def _read(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with self.db.session() as session:
            return fn(session, *args, **kwargs)

    @property
    def database_failing(self) -> bool:
        """The latest database call failed (a timeout, a lost connection): chargers get InternalError."""
        return self._last_db_error > self._last_db_ok

    async def enqueue_after_commit(self, value: Any) -> None:
        """Hand jobs the actions service asked for to portal.services.charging.action_queue.enqueue_after_commit."""
        try:
            await asyncio.to_thread(action_queue.enqueue_after_commit, self.redis_url, value)
        except Exception:
            log.exception("enqueue after commit failed")

    # --- connections -------------------------------------------------------------------------

    def _registration(self, identity: str) -> asyncio.Lock:
        return self._registering.setdefault(identity, asyncio.Lock())

    async def attach(self, identity: str, make_cp: Callable[[ocpp_ingest.ConnectInfo], "CentralChargePoint"]):
        """Register a new socket for identity; an older one is replaced and closed."""
        async with self._registration(identity):
            self.cache.forget(identity)  # a connect reads the database: another node may have held it
            info = await self.run_for(identity, ocpp_ingest.connected, self.node_id, utcnow())
            cp = make_cp(info)
            old = self.connections.get(identity)
            self.connections[identity] = cp
            if old is not None:
                old.replaced = True
                log.info("%s: new connection replaces the old one", identity)
                self.spawn(old.socket.close(1000, "replaced by a new connection"), name=f"{identity}-close")
            await self._hook(calls.on_charger_connected, identity)
        log.info("%s: connected to node %s", identity, self.node_id)
        return cp

    async def detach(self, cp: "CentralChargePoint") -> None:
        """The socket ended: forget it and mark the charger offline, unless a newer socket took over."""
        async with self._registration(cp.identity):
            if self.connections.get(cp.identity) is not cp:
                return
            del self.connections[cp.identity]
            self.cache.forget(cp.identity)  # whether another node took it over is read from the database
            try:
                await self.run_for(cp.identity, ocpp_ingest.disconnected, self.node_id, utcnow(),
                                   self.seen.take(cp.identity))
            finally:
                self.cache.forget(cp.identity)
                await self._hook(calls.on_charger_disconnected, cp.identity)
        log.info("%s: disconnected", cp.identity)

    async def _hook(self, hook: Callable[["Node", str], Coroutine[Any, Any, None]], identity: str) -> None:
        try:
            await hook(self, identity)
        except Exception:
            log.exception("%s failed for %s", hook.__name__, identity)
