"""Refused handshakes, added up in memory and written to the waiting list in batches.

The handshake only calls note(): a dict update, the same for known and unknown identities, so it costs
no time and tells nothing by its timing. Every OCPP_WAITING_FLUSH_S the node writes what was noted in
one transaction (portal/services/fleet/waiting.py decides unknown identity / wrong password / no
password, and keeps the table bounded). At most MAX_PENDING identities wait in memory between two
writes; further new ones are dropped (the failure counters in Redis still count them).

Vendor and model: a charger we do not let in never sends a BootNotification, so the list shows what its
HTTP handshake said (User-Agent, offered subprotocols), and for a known charger with a wrong secret the
vendor and model it booted with before.
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from websockets.datastructures import Headers

from ocpp_server.auth import basic_password
from ocpp_server.tasks import cancel_and_wait
from portal import settings
from portal.db import utcnow
from portal.services.fleet.waiting import Attempt, record_attempts
from portal.services.sites.onboarding import IDENTITY_RE

if TYPE_CHECKING:
    from ocpp_server.node import Node

log = logging.getLogger(__name__)
MAX_PENDING = 1000


class RefusedAttempts:
    def __init__(self, node: "Node", flush_s: float | None = None) -> None:
        self.node = node
        self.flush_s = float(settings.get("ocpp_waiting_flush_s")) if flush_s is None else flush_s
        self._pending: dict[str, Attempt] = {}
        self._task: asyncio.Task | None = None
        self.dropped = 0  # new identities not kept because MAX_PENDING were waiting (for tests)

    def note(self, identity: str, peer: str, headers: Headers, suspect: bool) -> None:
        """One refused handshake. Identities no one could register are not kept."""
        if not IDENTITY_RE.match(identity):
            return
        found = self._pending.get(identity)
        attempt = Attempt(identity=identity, remote_address=peer,
                          password_given=basic_password(headers, identity) is not None,
                          user_agent=(headers.get("User-Agent") or "")[:200],
                          subprotocols=(headers.get("Sec-WebSocket-Protocol") or "")[:100],
                          last_at=utcnow(), may_create=not suspect)
        if found is not None:
            attempt.count = found.count + 1
            attempt.may_create = found.may_create or attempt.may_create
        elif len(self._pending) >= MAX_PENDING:
            self.dropped += 1
            return
        self._pending[identity] = attempt

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ocpp-waiting-list")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_s)
            try:
                await self.flush()
            except Exception:
                log.exception("writing the waiting list failed; those attempts are lost")

    async def flush(self) -> None:
        batch, self._pending = list(self._pending.values()), {}
        if batch:
            await self.node.run_db(record_attempts, batch, int(settings.get("ocpp_waiting_max_rows")),
                                   int(settings.get("ocpp_waiting_keep_days")))

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        try:
            await self.flush()
        except Exception:
            log.exception("writing the waiting list at shutdown failed")
