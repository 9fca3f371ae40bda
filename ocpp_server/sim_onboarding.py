"""A simulated charger being installed: it tries to connect with an identity the central system does not
know yet (or a wrong password) and keeps trying, with backoff, until it is let in.

What an electrician sees in a garage: the charger is powered and configured with its identity and
whatever password it came with; support claims it on the waiting list and reads out the new secret,
which is typed into the charger (here: `password_source`, read again before every attempt, e.g. a file
given with --password-file). The handshake names the vendor and model in its User-Agent, as many
chargers do, so the waiting list can show them before any BootNotification.
"""
from __future__ import annotations

import asyncio
import logging
import random
from pathlib import Path
from typing import Callable

from websockets.exceptions import InvalidStatus

from ocpp_server.simulator import SimulatedCharger

log = logging.getLogger("ocpp_server.simulator")


class InstalledCharger(SimulatedCharger):
    """A simulated charger whose handshake says what it is (User-Agent: vendor/model)."""

    def handshake_headers(self) -> dict[str, str]:
        return {**super().handshake_headers(), "User-Agent": f"{self.options.vendor}/{self.options.model}"}


def password_from_file(path: str | Path, fallback: str | None) -> Callable[[], str | None]:
    """The password typed into the charger: the file's first line when it exists, else `fallback`."""
    def read() -> str | None:
        try:
            return Path(path).read_text(encoding="utf-8").strip() or fallback
        except OSError:
            return fallback
    return read


def backoff(attempt: int, first_s: float, max_s: float) -> float:
    """Exponential backoff with jitter: first_s, 2*first_s, ... at most max_s, each -/+ 20 %."""
    return min(max_s, first_s * 2 ** min(attempt, 20)) * random.uniform(0.8, 1.2)


async def start_until_let_in(charger: SimulatedCharger, *, first_s: float = 2.0, max_s: float = 60.0,
                             password_source: Callable[[], str | None] | None = None,
                             max_attempts: int | None = None) -> int:
    """charger.start() until the central system lets it in; returns how many attempts were refused.

    Refusals (401, 429) and an unreachable server wait with backoff (a 429's Retry-After is honoured up
    to max_s); the password is read again before each attempt. Raises the last refusal after
    max_attempts refused attempts."""
    refused = 0
    while True:
        if password_source is not None:
            charger.password = password_source()
        try:
            await charger.start()
            log.info("%s let in after %d refused attempt(s)", charger.identity, refused)
            return refused
        except InvalidStatus as exc:
            refused += 1
            status = exc.response.status_code
            retry_after = exc.response.headers.get("Retry-After", "")
            wait = backoff(refused - 1, first_s, max_s)
            if status == 429 and retry_after.isdigit():
                wait = max(wait, min(float(retry_after), max_s))
            log.warning("%s refused (HTTP %s, attempt %d); next try in %.1f s", charger.identity, status, refused, wait)
            if max_attempts is not None and refused >= max_attempts:
                raise
        except OSError as exc:
            wait = backoff(refused, first_s, max_s)
            log.warning("%s: server not reachable (%s); next try in %.1f s", charger.identity, exc, wait)
        await asyncio.sleep(wait)


async def install(args, chargers: list[SimulatedCharger]) -> list[SimulatedCharger]:
    """The command line's --until-let-in: each charger retries until let in, then runs as usual."""
    installed = [InstalledCharger(c.url, c.identity, c.password, c.options, ssl_context=c.ssl_context) for c in chargers]
    source = password_from_file(args.password_file, args.password) if args.password_file else None
    await asyncio.gather(*(start_until_let_in(c, max_s=args.retry_max, first_s=min(2.0, args.retry_max),
                                             password_source=source) for c in installed))
    return installed
