"""The WebSocket endpoint: ws(s)://HOST:PORT/ocpp/<identity>, subprotocol ocpp1.6, Basic auth, /healthz."""
from __future__ import annotations

import asyncio
import hmac
import http
import ipaddress
import json
import logging
import re
import ssl
from contextlib import asynccontextmanager
from typing import AsyncIterator
from urllib.parse import unquote, urlsplit

from sqlalchemy import text
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.headers import build_www_authenticate_basic
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.protocol import State

from ocpp_server import auth
from ocpp_server.node import Node
from ocpp_server.v16 import CentralChargePoint
from portal import settings
from ocpp_server.tasks import cancel_and_wait

log = logging.getLogger(__name__)
SUBPROTOCOL = "ocpp1.6"
PATH_RE = re.compile(r"^/ocpp/([^/]{1,64})/?$")
HEALTH_PATHS = ("/healthz", "/health")
LISTEN_BACKLOG = 4096  # capped by net.core.somaxconn


def identity_from_path(path: str) -> str | None:
    match = PATH_RE.match(urlsplit(path).path)
    return unquote(match.group(1)) if match else None


def _refuse(connection: ServerConnection, status: http.HTTPStatus, body: str) -> Response:
    response = connection.respond(status, body + "\n")
    if status == http.HTTPStatus.UNAUTHORIZED:
        response.headers["WWW-Authenticate"] = build_www_authenticate_basic("OCPP")
    return response


async def check_charger(node: Node, connection: ServerConnection, request: Request) -> Response | None:
    """Authenticate before the WebSocket opens: one 401 for unknown identities and wrong passwords."""
    path = urlsplit(request.path).path
    if path in HEALTH_PATHS:
        return await health(node, connection, request.headers)
    identity = identity_from_path(request.path)
    peer = connection.remote_address[0] if connection.remote_address else "?"
    if identity is None:
        log.info("refused %s from %s: not an OCPP path", path[:80], peer)
        return _refuse(connection, http.HTTPStatus.NOT_FOUND, "Not found")
    suspect = await auth.too_many_failures(node, peer, identity)
    if not await auth.authenticate(node, identity, request.headers, suspect=suspect):
        await auth.record_failure(node, peer, identity)
        if suspect:  # slow the failures down; the right secret above was never refused for them
            await asyncio.sleep(float(settings.get("ocpp_auth_penalty_s")))
            log.warning("refused %r from %s: too many failed log-ins", identity, peer)
            response = _refuse(connection, http.HTTPStatus.TOO_MANY_REQUESTS, "Too many failed attempts")
            response.headers["Retry-After"] = str(settings.get("ocpp_auth_window_s"))
            return response
        log.warning("refused %r from %s: unknown identity or wrong credentials", identity, peer)
        return _refuse(connection, http.HTTPStatus.UNAUTHORIZED, "Invalid credentials")
    connection.ocpp_identity = identity  # type: ignore[attr-defined]
    return None


def _select_one(node: Node) -> None:
    with node.db.session() as s:
        s.execute(text("SELECT 1"))


async def health(node: Node, connection: ServerConnection, request_headers: Headers) -> Response:
    """200 with JSON when the database and Redis answer and the node's own last database call worked."""
    database = redis_ok = False
    try:
        await asyncio.to_thread(_select_one, node)
        database = True
    except Exception:
        log.exception("health: database does not answer")
    try:
        redis_ok = bool(await asyncio.wait_for(node.redis.ping(), 2))
    except Exception:
        log.warning("health: Redis does not answer")
    ok = database and redis_ok and not node.database_failing
    status = http.HTTPStatus.OK if ok else http.HTTPStatus.SERVICE_UNAVAILABLE
    if not may_see_health_details(connection, request_headers):
        return _json(connection, status, {"status": "ok" if ok else "unavailable"})
    return _json(connection, status, {"status": "ok" if ok else "unavailable", "node": node.node_id,
                       "connections": len(node.connections), "database": database, "redis": redis_ok,
                       "database_failing": node.database_failing, "database_errors": node.db_errors,
                       "message_log": node.msglog.stats(),
                       "group_commit": {"batches": node.writer.batches, "items": node.writer.items,
                                        "retried_batches": node.writer.retried_batches},
                       "charger_cache": node.cache.stats()})


def may_see_health_details(connection: ServerConnection, headers: Headers) -> bool:
    """Details (host, process, counters) only with the configured token, or from a private address when
    OCPP_HEALTH_DETAILS_PRIVATE is on; anyone else learns only ok/unavailable."""
    token = settings.get("ocpp_health_token")
    sent = headers.get_all("Authorization")[0] if len(headers.get_all("Authorization")) == 1 else ""
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    if not settings.get("ocpp_health_details_private"):
        return False
    try:
        address = ipaddress.ip_address((connection.remote_address or ("",))[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_private


def _json(connection: ServerConnection, status: http.HTTPStatus, data: dict) -> Response:
    response = connection.respond(status, json.dumps(data))
    response.headers["Cache-Control"] = "no-store"
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    return response


async def handle_connection(node: Node, liveness: "Liveness", connection: ServerConnection) -> None:
    """Serve one authenticated charger until its socket closes."""
    identity: str = connection.ocpp_identity  # type: ignore[attr-defined]
    cp = await node.attach(identity, lambda info: CentralChargePoint(
        identity, connection, node, info, response_timeout=node.response_timeout))
    liveness.watch(cp, connection)
    try:
        await cp.start()
    except ConnectionClosed as exc:
        log.info("%s: socket closed (%s)", identity, exc.rcvd.code if exc.rcvd else "no close frame")
    finally:
        liveness.forget(cp)
        await node.detach(cp)


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

    def __init__(self, node: Node, ping_interval: float, ping_timeout: float, idle_timeout: float) -> None:
        self.node = node
        self.ping_interval = ping_interval  # <= 0: no pings
        self.ping_timeout = ping_timeout
        shortest = min(x for x in (ping_interval, idle_timeout if idle_timeout > 0 else 300, 300) if x > 0)
        self.tick = max(shortest / 3, 0.05)
        self._watched: dict[CentralChargePoint, _Watched] = {}
        self._task: asyncio.Task | None = None
        self.pings = 0  # for tests and benchmarks

    @classmethod
    def from_settings(cls, node: Node) -> "Liveness":
        ping = float(settings.get("ocpp_ping_interval_s"))
        return cls(node, ping, ping, float(settings.get("ocpp_idle_timeout_s")))

    def watch(self, cp: CentralChargePoint, connection: ServerConnection) -> None:
        loop = asyncio.get_running_loop()
        self._watched[cp] = _Watched(connection, idle_limit_s(cp.heartbeat_interval), loop.time())

    def forget(self, cp: CentralChargePoint) -> None:
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

    def _close(self, cp: CentralChargePoint, w: _Watched, code: int, reason: str) -> None:
        w.closing = True
        self.node.spawn(w.connection.close(code, reason), name=f"{cp.identity}-close")


def _ignore_outcome(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()  # a pong waiter fails with ConnectionClosed when the socket goes; nobody awaits it


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """Security profile 2: TLS 1.2+ with the configured certificate chain."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


@asynccontextmanager
async def running(node: Node, host: str, port: int, tls: ssl.SSLContext | None = None,
                  reuse_port: bool = False) -> AsyncIterator[Server]:
    """Start the node and the WebSocket server; on exit close every socket and stop the node cleanly.

    reuse_port: share the port with the other node processes of `python -m ocpp_server --processes N`.
    The listen backlog is raised so a reconnect storm queues in the kernel instead of being reset."""
    await node.start()
    liveness = Liveness.from_settings(node)
    liveness.start()
    node.liveness = liveness  # type: ignore[attr-defined]  # (for tests and /healthz-style inspection)
    server = await serve(
        lambda conn: handle_connection(node, liveness, conn), host, port,
        subprotocols=[SUBPROTOCOL], process_request=lambda conn, req: check_charger(node, conn, req),
        ssl=tls, compression=None, max_size=int(settings.get("ocpp_max_frame_bytes")),
        ping_interval=None,  # keepalive pings come from one Liveness sweep, not a task per connection
        close_timeout=5, backlog=LISTEN_BACKLOG, reuse_port=reuse_port or None, open_timeout=30,
    )
    try:
        yield server
    finally:
        await liveness.stop()
        server.close()
        await server.wait_closed()
        await node.stop()


def bound_port(server: Server) -> int:
    return server.sockets[0].getsockname()[1]
