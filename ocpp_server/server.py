"""The WebSocket endpoint: ws(s)://HOST:PORT/ocpp/<identity>, subprotocol ocpp1.6, Basic auth, /healthz."""
from __future__ import annotations

import asyncio
import http
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
from websockets.http11 import Request, Response

from ocpp_server import auth
from ocpp_server.node import Node
from ocpp_server.v16 import CentralChargePoint
from portal.config import setting

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
        return await health(node, connection)
    identity = identity_from_path(request.path)
    peer = connection.remote_address[0] if connection.remote_address else "?"
    if identity is None:
        log.info("refused %s from %s: not an OCPP path", path[:80], peer)
        return _refuse(connection, http.HTTPStatus.NOT_FOUND, "Not found")
    if await auth.too_many_failures(node, peer, identity):
        log.warning("refused %r from %s: too many failed log-ins", identity, peer)
        response = _refuse(connection, http.HTTPStatus.TOO_MANY_REQUESTS, "Too many failed attempts")
        response.headers["Retry-After"] = setting("OCPP_AUTH_WINDOW_S")
        return response
    if not await auth.authenticate(node, identity, request.headers):
        await auth.record_failure(node, peer, identity)
        log.warning("refused %r from %s: unknown identity or wrong credentials", identity, peer)
        return _refuse(connection, http.HTTPStatus.UNAUTHORIZED, "Invalid credentials")
    connection.ocpp_identity = identity  # type: ignore[attr-defined]
    return None


def _select_one(node: Node) -> None:
    with node.db.session() as s:
        s.execute(text("SELECT 1"))


async def health(node: Node, connection: ServerConnection) -> Response:
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
    body = json.dumps({"status": "ok" if ok else "unavailable", "node": node.node_id,
                       "connections": len(node.connections), "database": database, "redis": redis_ok,
                       "database_failing": node.database_failing, "database_errors": node.db_errors,
                       "message_log": node.msglog.stats(),
                       "group_commit": {"batches": node.writer.batches, "items": node.writer.items,
                                        "retried_batches": node.writer.retried_batches},
                       "charger_cache": node.cache.stats()})
    response = connection.respond(http.HTTPStatus.OK if ok else http.HTTPStatus.SERVICE_UNAVAILABLE, body)
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    return response


async def handle_connection(node: Node, connection: ServerConnection) -> None:
    """Serve one authenticated charger until its socket closes."""
    identity: str = connection.ocpp_identity  # type: ignore[attr-defined]
    cp = await node.attach(identity, lambda info: CentralChargePoint(
        identity, connection, node, info, response_timeout=node.response_timeout))
    watchdog = asyncio.create_task(close_when_idle(cp, connection), name=f"{identity}-idle")
    try:
        await cp.start()
    except ConnectionClosed as exc:
        log.info("%s: socket closed (%s)", identity, exc.rcvd.code if exc.rcvd else "no close frame")
    finally:
        watchdog.cancel()
        await node.detach(cp)


def idle_limit_s(heartbeat_interval: int) -> float:
    configured = float(setting("OCPP_IDLE_TIMEOUT_S"))
    return configured if configured > 0 else max(3 * heartbeat_interval, 300)


async def close_when_idle(cp: CentralChargePoint, connection: ServerConnection) -> None:
    """Close a socket over which no OCPP message arrived for longer than the idle limit."""
    limit = idle_limit_s(cp.heartbeat_interval)
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(max(limit - (loop.time() - cp.last_message_at), 0.05))
        if loop.time() - cp.last_message_at >= limit:
            log.warning("%s: no message for %.0f s; closing the socket", cp.identity, limit)
            await connection.close(1001, "idle")
            return


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
    server = await serve(
        lambda conn: handle_connection(node, conn), host, port,
        subprotocols=[SUBPROTOCOL], process_request=lambda conn, req: check_charger(node, conn, req),
        ssl=tls, compression=None, max_size=int(setting("OCPP_MAX_FRAME_BYTES")),
        ping_interval=float(setting("OCPP_PING_INTERVAL_S")), ping_timeout=float(setting("OCPP_PING_INTERVAL_S")),
        close_timeout=5, backlog=LISTEN_BACKLOG, reuse_port=reuse_port or None, open_timeout=30,
    )
    try:
        yield server
    finally:
        server.close()
        await server.wait_closed()
        await node.stop()


def bound_port(server: Server) -> int:
    return server.sockets[0].getsockname()[1]
