"""Entry point of an OCPP server node: `python -m ocpp_server [--processes N]` (configured by environment variables).

--processes N (default: the number of CPU cores; OCPP_PROCESSES overrides the default) starts N node
processes sharing OCPP_PORT with SO_REUSEPORT; the kernel spreads new connections over them. Each has
its own node id (OCPP_NODE_ID-1 ... -N, or a unique id each when OCPP_NODE_ID is unset), so its own call queue and its own claims in Redis; this
process only supervises them (restarts one that dies, passes SIGTERM/SIGINT on). With N = 1 the node
runs in this process under OCPP_NODE_ID itself.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import subprocess
import sys
import time

from portal.config import setting
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
    if os.environ.get("OCPP_GC_TUNING", "1") != "0":
        gc.collect()
        gc.freeze()  # start-up objects (modules, ORM mappers, schemas) are never scanned again
        gc.set_threshold(*GC_THRESHOLDS)
    return pauses


async def serve_until_stopped(reuse_port: bool = False) -> None:
    """Serve until SIGTERM or SIGINT, then close every charger socket and flush the message log."""
    node = Node.from_settings()
    cert, key = setting("OCPP_TLS_CERT"), setting("OCPP_TLS_KEY")
    tls = tls_context(cert, key) if cert and key else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    pauses = tune_gc()
    async with running(node, setting("OCPP_HOST"), int(setting("OCPP_PORT")), tls, reuse_port=reuse_port) as server:
        scheme = "wss" if tls else "ws"
        log.info("OCPP node %s (pid %d) listening on %s://%s:%d/ocpp/<identity>", node.node_id, os.getpid(),
                 scheme, setting("OCPP_HOST"), bound_port(server))
        await stop.wait()
        log.info("shutting down: closing %d charger connections", len(node.connections))
    node.db.dispose()
    log.info("stopped; %d garbage collections, longest pause %.1f ms", pauses.count, pauses.longest * 1000)


def supervise(processes: int) -> int:
    """Run `processes` single-node children on one port; restart any that dies until we are told to stop."""
    base = setting("OCPP_NODE_ID")
    stopping = False

    def start(i: int) -> subprocess.Popen:
        # OCPP_NODE_ID=x gives x-1 ... x-N; unset, every child makes its own unique id
        env = dict(os.environ, OCPP_NODE_ID=f"{base}-{i}" if base else "", OCPP_REUSE_PORT="1")
        return subprocess.Popen([sys.executable, "-m", "ocpp_server", "--processes", "1"], env=env)

    def on_signal(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signum)

    children = {i: start(i) for i in range(1, processes + 1)}
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("supervising %d OCPP node processes on one port (node ids %s)", processes,
             f"{base}-1 ... {base}-{processes}" if base else "unique per process")
    while not stopping:
        time.sleep(0.5)
        for i, child in list(children.items()):
            if child.poll() is not None and not stopping:
                log.error("node %s-%d exited with code %s; starting it again", base, i, child.returncode)
                time.sleep(1)
                children[i] = start(i)
    for child in children.values():
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
    return 0


def default_processes() -> int:
    return int(os.environ.get("OCPP_PROCESSES") or os.cpu_count() or 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ocpp_server", description="OCPP 1.6J central system node")
    parser.add_argument("--processes", type=int, default=default_processes(),
                        help="node processes sharing the port (default: OCPP_PROCESSES or the number of cores)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s %(levelname)s [{os.getpid()}] %(name)s: %(message)s")
    logging.getLogger("websockets").setLevel(logging.WARNING)
    logging.getLogger("ocpp").setLevel(logging.WARNING)  # frames are in the message log
    if args.processes > 1:
        return supervise(args.processes)
    asyncio.run(serve_until_stopped(reuse_port=os.environ.get("OCPP_REUSE_PORT") == "1"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
