"""Entry point of one OCPP server node: `python -m ocpp_server` (configured by portal.settings).

Several node processes on one machine share OCPP_PORT when each runs with OCPP_REUSE_PORT=1: every
process binds its own socket with SO_REUSEPORT and the kernel spreads new connections over them. Nothing
is inherited from a parent, so any process manager can start them: `make run`'s Procfile (honcho, one
process; `honcho start -c ocpp=N` for N), systemd, a container per node. Leave OCPP_NODE_ID unset (each
process makes a unique id) or give each its own: the id names its call queue and claims in Redis.
An earlier pre-forking `--processes N` supervisor here did only that, so it went (issue 26).
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
import time

from portal import settings
from ocpp_server.node import Node
from ocpp_server.server import bound_port, running, tls_context

log = logging.getLogger("ocpp_server")
# Young-generation collections every 700 allocations are most of the node's GC time under load; the
# long-lived objects of start-up are frozen out of every collection (gc.freeze) instead.
GC_THRESHOLDS = (50_000, 20, 100)


class GcPauses:
    """The longest garbage-collection pause seen (gc.callbacks), logged at shutdown."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.count = 0
        self._start = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.count += 1
            self.longest = max(self.longest, time.perf_counter() - self._start)


def tune_gc() -> GcPauses:
    pauses = GcPauses()
    gc.callbacks.append(pauses)
    if settings.get("ocpp_gc_tuning"):
        gc.collect()
        gc.freeze()  # start-up objects (modules, ORM mappers, schemas) are never scanned again
        gc.set_threshold(*GC_THRESHOLDS)
    return pauses


async def serve_until_stopped(reuse_port: bool = False) -> None:
    """Serve until SIGTERM or SIGINT, then close every charger socket and flush the message log."""
    node = Node.from_settings()
    cert, key = settings.get("ocpp_tls_cert"), settings.get("ocpp_tls_key")
    tls = tls_context(cert, key) if cert and key else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    pauses = tune_gc()
    async with running(node, settings.get("ocpp_host"), int(settings.get("ocpp_port")), tls, reuse_port=reuse_port) as server:
        scheme = "wss" if tls else "ws"
        log.info("OCPP node %s (pid %d) listening on %s://%s:%d/ocpp/<identity>", node.node_id, os.getpid(),
                 scheme, settings.get("ocpp_host"), bound_port(server))
        await stop.wait()
        log.info("shutting down: closing %d charger connections", len(node.connections))
    node.db.dispose()
    log.info("stopped; %d garbage collections, longest pause %.1f ms", pauses.count, pauses.longest * 1000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ocpp_server", description="OCPP 1.6J central system node")
    parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s %(levelname)s [{os.getpid()}] %(name)s: %(message)s")
    logging.getLogger("websockets").setLevel(logging.WARNING)
    logging.getLogger("ocpp").setLevel(logging.WARNING)  # frames are in the message log
    asyncio.run(serve_until_stopped(reuse_port=settings.get("ocpp_reuse_port")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
