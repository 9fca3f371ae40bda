"""Minimal chain, node hop: `python -m bench.minimal_chain.node --port P` (REDIS_URL).

A bare asyncio central system (`ocpp` + `websockets`, the answers of bench/bare_csms.py, no
auth check, nothing stored) that takes calls from one Redis list and sends them to the charger."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal

from ocpp.v16 import call
from redis.asyncio import Redis
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from bench.bare_csms import BareChargePoint
from bench.minimal_chain import CALLS_KEY, reply_key


async def main(host: str, port: int) -> None:
    redis = Redis.from_url(os.environ["REDIS_URL"])
    held: dict[str, BareChargePoint] = {}
    tasks: set[asyncio.Task] = set()

    async def handler(connection) -> None:
        identity = connection.request.path.rstrip("/").rsplit("/", 1)[-1]
        cp = held[identity] = BareChargePoint(identity, connection)
        try:
            await cp.start()
        except ConnectionClosed:
            pass
        finally:
            if held.get(identity) is cp:
                del held[identity]

    async def deliver(request: dict) -> None:
        cp = held.get(request["identity"])
        if cp is None:
            reply = {"status": "not_connected"}
        else:
            try:
                result = await cp.call(call.RemoteStartTransaction(id_tag="CHAIN", connector_id=1))
                reply = {"status": "ok", "response": {"status": result.status}}
            except Exception as exc:  # noqa: BLE001  (a bench: report, don't die)
                reply = {"status": "call_error", "detail": repr(exc)}
        await redis.rpush(reply_key(request["id"]), json.dumps(reply))

    async def pump(stop: asyncio.Event) -> None:
        while not stop.is_set():
            item = await redis.blpop([CALLS_KEY], timeout=1)
            if item is not None:
                task = asyncio.create_task(deliver(json.loads(item[1])))
                tasks.add(task)
                task.add_done_callback(tasks.discard)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serve(handler, host, port, subprotocols=["ocpp1.6"], compression=None):
        print(f"minimal chain node on ws://{host}:{port}/ocpp/<identity>", flush=True)
        await pump(stop)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    asyncio.run(main(args.host, args.port))
