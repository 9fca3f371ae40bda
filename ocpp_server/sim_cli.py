"""The simulator's command line: `python -m ocpp_server.simulator --url ... --id ... [--stdin]`."""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl
import sys

from websockets.exceptions import InvalidStatus

from ocpp_server import sim_faults, sim_locallist, sim_onboarding, simulator
from ocpp_server.simulator import Options, SimulatedCharger

log = logging.getLogger("ocpp_server.simulator")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m ocpp_server.simulator", description=simulator.__doc__.split("\n")[0])
    p.add_argument("--url", default="ws://127.0.0.1:9000/ocpp", help="endpoint without the identity")
    p.add_argument("--id", dest="ids", action="append", required=True, help="charger identity (repeatable)")
    p.add_argument("--password", default=None, help="Basic-auth secret (same for every --id)")
    p.add_argument("--connectors", type=int, default=1)
    p.add_argument("--heartbeat", type=float, default=None, help="seconds; default: what the server says")
    p.add_argument("--meter-interval", type=float, default=5.0)
    p.add_argument("--power", type=float, default=11.0, help="charging power in kW")
    p.add_argument("--auto-plug", action="store_true", help="plug a car into every connector at start")
    p.add_argument("--reject-remote-start", action="store_true")
    p.add_argument("--no-answer", action="store_true", help="never answer the central system's calls")
    p.add_argument("--no-start-after-accept", action="store_true")
    p.add_argument("--firmware-version", default="1.0.0", help="the version BootNotification reports at start")
    p.add_argument("--firmware-fail", choices=("download", "install"), default="",
                   help="make every firmware update fail at this step")
    p.add_argument("--no-smart-charging", action="store_true", help="no SmartCharging profile (issue 22)")
    p.add_argument("--forget-profiles-on-reboot", action="store_true", help="charging profiles are lost on a reset")
    p.add_argument("--ca", default=None, help="CA certificate file to trust for wss:// (security profile 2)")
    p.add_argument("--until-let-in", action="store_true",
                   help="a charger being installed: retry refused connections with backoff (ocpp_server.sim_onboarding)")
    p.add_argument("--password-file", default=None, help="with --until-let-in: read the password from here before each try")
    p.add_argument("--retry-max", type=float, default=60.0, help="with --until-let-in: the longest wait between tries (s)")
    p.add_argument("--stdin", action="store_true", help="read commands (plug 1, unplug 1, swipe 1 TAG ...)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


async def stdin_commands(chargers: list[SimulatedCharger]) -> None:
    """plug N | unplug N | swipe N TAG | fault N | clear N | stop N [ID] -- applied to the first (or named) charger."""
    loop = asyncio.get_running_loop()
    by_id = {c.identity: c for c in chargers}
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            return
        target = by_id.get(words[-1], chargers[0])
        try:
            # offline | online | swipe while offline (the local list decides); then silent | suspend N | recover
            if await sim_locallist.command(target, words) or await sim_faults.command(target, words):
                continue
            n = int(words[1])
            handlers = {"plug": target.plug, "unplug": target.unplug, "fault": target.fault,
                        "clear": target.clear_fault, "stop": target.stop_transaction}
            if words[0] == "swipe":
                await target.swipe(n, words[2])
            else:
                await handlers[words[0]](n)
        except (IndexError, KeyError, ValueError):
            print("commands: plug N | unplug N | swipe N TAG | fault N | clear N | stop N | offline | online | "
                  "silent | suspend N | recover | quit", flush=True)


async def main_async(args: argparse.Namespace) -> None:
    options = dict(connectors=args.connectors, heartbeat=args.heartbeat, meter_interval=args.meter_interval,
                   power_w=args.power * 1000, auto_plug=args.auto_plug, reject_remote_start=args.reject_remote_start,
                   no_answer=args.no_answer, no_start_after_accept=args.no_start_after_accept,
                   firmware_version=args.firmware_version, firmware_fail=args.firmware_fail,
                   no_smart_charging=args.no_smart_charging, forget_profiles_on_reboot=args.forget_profiles_on_reboot)
    tls = ssl.create_default_context(cafile=args.ca) if args.ca else None
    chargers = [SimulatedCharger(args.url, i, args.password, Options(**options), ssl_context=tls) for i in args.ids]
    if args.until_let_in:
        chargers = await sim_onboarding.install(args, chargers)  # started: the loop below skips them
    for charger in [] if args.until_let_in else chargers:
        while True:
            try:
                await charger.start()
                log.info("%s connected and booted (%s)", charger.identity, charger.boot_status)
                break
            except InvalidStatus as exc:
                log.error("%s refused by the server: HTTP %s", charger.identity, exc.response.status_code)
                raise SystemExit(2)
            except OSError as exc:
                log.warning("%s: server not reachable (%s); retrying", charger.identity, exc)
                await asyncio.sleep(2)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    try:
        if args.stdin:
            await asyncio.wait([asyncio.ensure_future(stdin_commands(chargers)), asyncio.ensure_future(stop.wait())],
                               return_when=asyncio.FIRST_COMPLETED)
        else:
            await stop.wait()
    finally:
        await asyncio.gather(*(c.close() for c in chargers), return_exceptions=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("ocpp").setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        asyncio.run(main_async(args))
    except KeyboardInterrupt:
        pass

