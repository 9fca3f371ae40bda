"""Entry point of an OCPP server node: `python -m ocpp_server` (configured by environment variables)."""
from __future__ import annotations

import asyncio
import logging
import signal

from portal.config import setting
from ocpp_server.node import Node
from ocpp_server.server import bound_port, running, tls_context

log = logging.getLogger("ocpp_server")


async def serve_until_stopped() -> None:
    """Serve until SIGTERM or SIGINT, then close every charger socket and flush the message log."""
    node = Node.from_settings()
    cert, key = setting("OCPP_TLS_CERT"), setting("OCPP_TLS_KEY")
    tls = tls_context(cert, key) if cert and key else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with running(node, setting("OCPP_HOST"), int(setting("OCPP_PORT")), tls) as server:
        scheme = "wss" if tls else "ws"
        log.info("OCPP node %s listening on %s://%s:%d/ocpp/<identity>", node.node_id, scheme,
                 setting("OCPP_HOST"), bound_port(server))
        await stop.wait()
        log.info("shutting down: closing %d charger connections", len(node.connections))
    node.db.dispose()
    log.info("stopped")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("websockets").setLevel(logging.WARNING)
    logging.getLogger("ocpp").setLevel(logging.WARNING)  # frames are in the message log
    asyncio.run(serve_until_stopped())


if __name__ == "__main__":
    main()
