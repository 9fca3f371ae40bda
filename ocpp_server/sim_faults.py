"""Faults a simulated charger can be told to show, for demos and tests of the incident path (issue 20).

    await go_offline(sim)        close the socket and stay away until recover()
    await go_silent(sim)         keep the socket but say nothing: no calls, no heartbeats, no pongs
    await suspend(sim, 1)        report SuspendedEVSE on an outlet
    await recover(sim)           back: reconnect (or speak again), outlets report their idle state
    fault/clear_fault            already on SimulatedCharger

From the command line (`--stdin`): `offline`, `silent`, `suspend N`, `recover` (see sim_cli).
"""
from __future__ import annotations

import asyncio
import logging

from ocpp_server.simulator import SimulatedCharger

log = logging.getLogger("ocpp_server.simulator")


async def go_offline(sim: SimulatedCharger) -> None:
    """Close the socket (as a charger losing power or network would) and do not reconnect."""
    sim.options.reconnect = False
    if sim._runner is not None:
        sim._runner.cancel()
        sim._runner = None
    if sim._ws is not None:
        await sim._ws.close()
    sim.connected.clear()
    log.info("%s: offline (socket closed)", sim.identity)


async def go_silent(sim: SimulatedCharger) -> None:
    """Stop sending anything while the socket stays open: calls and heartbeats are dropped, and no
    incoming frame (pings included) is read, so no pong is sent either."""
    sim.silent = True
    if sim._ws is not None:
        sim._ws.transport.pause_reading()
    log.info("%s: silent (socket open, nothing sent)", sim.identity)


async def suspend(sim: SimulatedCharger, connector_id: int) -> None:
    await sim.report(connector_id, "SuspendedEVSE")


async def recover(sim: SimulatedCharger) -> None:
    """Back to normal: a silent charger speaks again (a fresh connection, as real ones do after a hang);
    an offline one reconnects; faults are cleared and every outlet reports its idle state."""
    was_silent = getattr(sim, "silent", False)
    sim.silent = False
    for outlet in sim.outlets.values():
        outlet.error_code = "NoError"
    if was_silent and sim._ws is not None:
        sim._ws.transport.resume_reading()
        await sim._ws.close()
    sim.options.reconnect = True
    if sim._runner is not None and not sim._runner.done():
        await asyncio.wait_for(sim.booted.wait(), 30)
        return
    await sim.start()
    for outlet in sim.outlets.values():
        await sim.report(outlet.connector_id, sim._idle_status(outlet))


async def command(sim: SimulatedCharger, words: list[str]) -> bool:
    """A --stdin command of this module (offline | silent | suspend N | recover); False when not one."""
    if words[0] == "offline":
        await go_offline(sim)
    elif words[0] == "silent":
        await go_silent(sim)
    elif words[0] == "recover":
        await recover(sim)
    elif words[0] == "suspend" and len(words) > 1 and words[1].isdigit():
        await suspend(sim, int(words[1]))
    else:
        return False
    return True
