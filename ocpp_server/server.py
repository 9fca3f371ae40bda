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
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, InvalidHeader
from websockets.headers import build_www_authenticate_basic, parse_authorization_basic
from websockets.http11 import Request, Response

from ocpp_server.node import Node
from ocpp_server.v16 import CentralChargePoint

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


def _credentials(headers: Headers) -> tuple[str, str] | None:
    try:
        return parse_authorization_basic(headers["Authorization"])
    except (KeyError, InvalidHeader):
        return None


async def check_charger(node: Node, connection: ServerConnection, request: Request) -> Response | None:
    """Authenticate before the WebSocket opens: 404 unknown identity, 401 wrong or missing password."""
    path = urlsplit(request.path).path
    if path in HEALTH_PATHS:
        return await health(node, connection)
    identity = identity_from_path(request.path)
    peer = connection.remote_address[0] if connection.remote_address else "?"
    if identity is None:
        log.info("refused %s from %s: not an OCPP path", path[:80], peer)
        return _refuse(connection, http.HTTPStatus.NOT_FOUND, "Not found")
    stored = await node.credentials.get(identity)
    if stored is None:
        log.warning("refused %r from %s: unknown charge point identity", identity, peer)
        return _refuse(connection, http.HTTPStatus.NOT_FOUND, "Unknown charge point")
    creds = _credentials(request.headers)
    if creds is None:
        log.warning("refused %s from %s: no Basic credentials", identity, peer)
        return _refuse(connection, http.HTTPStatus.UNAUTHORIZED, "Credentials required")
    username, password = creds
    valid = username == identity and await node.secrets.check(identity, stored, password)
    if not valid:
        log.warning("refused %s from %s: wrong username or password", identity, peer)
        return _refuse(connection, http.HTTPStatus.UNAUTHORIZED, "Invalid credentials")
    connection.ocpp_identity = identity  # type: ignore[attr-defined]
    return None


async def health(node: Node, connection: ServerConnection) -> Response:
    """200 with JSON when the database and Redis answer, 503 otherwise."""
    database = redis_ok = False
    try:
        await node.run_db(lambda s: s.execute(text("SELECT 1")))
        database = True
    except Exception:
        log.exception("health: database does not answer")
    try:
        redis_ok = bool(await asyncio.wait_for(node.redis.ping(), 2))
    except Exception:
        log.warning("health: Redis does not answer")
    ok = database and redis_ok
    body = json.dumps({"status": "ok" if ok else "unavailable", "node": node.node_id,
                       "connections": len(node.connections), "database": database, "redis": redis_ok})
    response = connection.respond(http.HTTPStatus.OK if ok else http.HTTPStatus.SERVICE_UNAVAILABLE, body)
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    return response


async def handle_connection(node: Node, connection: ServerConnection) -> None:
    """Serve one authenticated charger until its socket closes."""
    identity: str = connection.ocpp_identity  # type: ignore[attr-defined]
    cp = await node.attach(identity, lambda info: CentralChargePoint(
        identity, connection, node, info, response_timeout=node.response_timeout))
    try:
        await cp.start()
    except ConnectionClosed as exc:
        log.info("%s: socket closed (%s)", identity, exc.rcvd.code if exc.rcvd else "no close frame")
    finally:
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

    reuse_port: share the port with the other node processes of `python -m ocpp_server --processes N`.
    The listen backlog is raised so a reconnect storm queues in the kernel instead of being reset."""
    await node.start()
    server = await serve(
        lambda conn: handle_connection(node, conn), host, port,
        subprotocols=[SUBPROTOCOL], process_request=lambda conn, req: check_charger(node, conn, req),
        ssl=tls, compression=None, max_size=2**20, ping_interval=30, ping_timeout=30, close_timeout=5,
        backlog=LISTEN_BACKLOG, reuse_port=reuse_port or None, open_timeout=30,
    )
    try:
        yield server
    finally:
        server.close()
        await server.wait_closed()
        await node.stop()


def bound_port(server: Server) -> int:
    return server.sockets[0].getsockname()[1]
