"""The floor for bench/ocpp_fleet.py: a central system made of only `ocpp` + `websockets`, storing nothing.

    .venv/bin/python bench/bare_csms.py --port 9100 --secret S [--host 127.0.0.1]

Same endpoint shape as ours (ws://HOST:PORT/ocpp/<identity>, subprotocol ocpp1.6, Basic auth checked
against one shared secret in memory), the library's own routing and strict schema validation both ways,
and the answers a real central system gives (Accepted boot with an interval, current time). Nothing is
stored, so the difference between this and `python -m ocpp_server` under the same load is what our
storage, auth and bookkeeping cost. Not part of the product.
"""
from __future__ import annotations

import argparse
import asyncio
import hmac
import http
import logging
import signal
import subprocess
import sys
from datetime import datetime, timezone

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed, InvalidHeader
from websockets.headers import parse_authorization_basic


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class BareChargePoint(ChargePoint):
    @on(Action.boot_notification)
    async def on_boot(self, charge_point_vendor: str, charge_point_model: str, **kwargs):
        return call_result.BootNotification(current_time=now(), interval=60, status=RegistrationStatus.accepted)

    @on(Action.heartbeat)
    async def on_heartbeat(self, **kwargs):
        return call_result.Heartbeat(current_time=now())

    @on(Action.status_notification)
    async def on_status(self, **kwargs):
        return call_result.StatusNotification()

    @on(Action.meter_values)
    async def on_meter_values(self, **kwargs):
        return call_result.MeterValues()

    @on(Action.authorize)
    async def on_authorize(self, id_tag: str, **kwargs):
        return call_result.Authorize(id_tag_info={"status": AuthorizationStatus.accepted})


async def main(host: str, port: int, secret: str, backlog: int, reuse_port: bool = False) -> None:
    def check(connection, request):
        identity = request.path.rstrip("/").rsplit("/", 1)[-1]
        try:
            user, password = parse_authorization_basic(request.headers["Authorization"])
        except (KeyError, InvalidHeader):
            return connection.respond(http.HTTPStatus.UNAUTHORIZED, "Credentials required\n")
        if user != identity or not hmac.compare_digest(password, secret):
            return connection.respond(http.HTTPStatus.UNAUTHORIZED, "Invalid credentials\n")
        connection.identity = identity
        return None

    async def handler(connection):
        cp = BareChargePoint(connection.identity, connection)
        try:
            await cp.start()
        except ConnectionClosed:
            pass

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serve(handler, host, port, subprotocols=["ocpp1.6"], process_request=check,
                     compression=None, ping_interval=30, ping_timeout=30, backlog=backlog,
                     reuse_port=reuse_port or None):
        print(f"bare central system on ws://{host}:{port}/ocpp/<identity>", flush=True)
        await stop.wait()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9100)
    p.add_argument("--secret", required=True)
    p.add_argument("--backlog", type=int, default=4096)
    p.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--processes", type=int, default=1, help="processes sharing the port (SO_REUSEPORT)")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.processes <= 1:
        asyncio.run(main(args.host, args.port, args.secret, args.backlog, args.reuse_port))
    else:  # like `python -m ocpp_server --processes N`: children share the port, this one waits
        children = [subprocess.Popen([sys.executable, __file__, "--host", args.host, "--port", str(args.port),
                                      "--secret", args.secret, "--backlog", str(args.backlog), "--reuse-port"])
                    for _ in range(args.processes)]
        signal.signal(signal.SIGTERM, lambda *_: [c.terminate() for c in children])
        for child in children:
            child.wait()
