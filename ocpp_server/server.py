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

from ocpp_server import auth
from ocpp_server.node import Node
from ocpp_server.v16 import CentralChargePoint
from portal import settings

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
        node.refused.note(identity, peer, request.headers, suspect)
        if suspect:  # slow the failures down; the right secret above was never refused for them
            await asyncio.sleep(float(settings.get("ocpp_auth_penalty_s")))
            log.warning("refused %r from %s: too many failed log-ins", identity, peer)
            response = _refuse(connection, http.HTTPStatus.TOO_MANY_REQUESTS, "Too many failed attempts")
            response.headers["Retry-After"] = str(settings.get("ocpp_auth_window_s"))
            return response
        log.warning("refused %r from %s: unknown identity or wrong credentials", identity, peer)
        return _refuse(connection, http.HTTPStatus.UNAUTHORIZED, "Invalid credentials")
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


async def handle_connection(node: Node, connection: ServerConnection) -> None:
    """Serve one charger until its socket closes (check_charger authenticated it for this very path)."""
    identity = identity_from_path(connection.request.path)
    cp = await node.attach(identity, lambda info: CentralChargePoint(
        identity, connection, node, info, response_timeout=node.response_timeout))
    node.liveness.watch(cp, connection)
    try:
        await cp.start()
    except ConnectionClosed as exc:
        log.info("%s: socket closed (%s)", identity, exc.rcvd.code if exc.rcvd else "no close frame")
    finally:
        node.liveness.forget(cp)
        await node.detach(cp)


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

    reuse_port: share the port with other node processes (OCPP_REUSE_PORT=1; the Procfile's `ocpp=N`).
    The listen backlog is raised so a reconnect storm queues in the kernel instead of being reset."""
    await node.start()
    node.liveness.start()
    server = await serve(
        lambda conn: handle_connection(node, conn), host, port,
        subprotocols=[SUBPROTOCOL], process_request=lambda conn, req: check_charger(node, conn, req),
        ssl=tls, compression=None, max_size=int(settings.get("ocpp_max_frame_bytes")),
        ping_interval=None,  # keepalive pings come from one Liveness sweep, not a task per connection
        close_timeout=5, backlog=LISTEN_BACKLOG, reuse_port=reuse_port or None, open_timeout=30,
    )
    try:
        yield server
    finally:
        await node.liveness.stop()
        server.close()
        await server.wait_closed()
        await node.stop()


def bound_port(server: Server) -> int:
    return server.sockets[0].getsockname()[1]
