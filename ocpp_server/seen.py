"""Last-seen times kept in memory and written in batches: no database write per Heartbeat.

Every frame a charger sends notes the time here (a dict assignment). Every FLUSH_S seconds the node
writes all noted times in one statement (executemany), and a charger's own time is written with its
disconnect. The missed-heartbeat job allows at least a minute of silence, so a few seconds of delay
never marks a live charger offline; the write also brings a charger the job had marked offline back.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from portal import settings
from portal.services import ocpp_ingest
from ocpp_server.tasks import cancel_and_wait

if TYPE_CHECKING:
    from ocpp_server.node import Node

log = logging.getLogger(__name__)
FLUSH_S = settings.get("ocpp_last_seen_flush_s")


class LastSeen:
    def __init__(self, node: "Node", flush_s: float = FLUSH_S) -> None:
        self.node = node
        self.flush_s = flush_s
        self._pending: dict[str, datetime] = {}
        self._task: asyncio.Task | None = None
        self.writes = 0  # statements issued (for tests and benchmarks)

    def note(self, identity: str, at: datetime) -> None:
        self._pending[identity] = at

    def take(self, identity: str) -> datetime | None:
        """The time not yet written for this charger (its disconnect writes it)."""
        return self._pending.pop(identity, None)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ocpp-last-seen")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_s)
            try:
                await self.flush()
            except Exception:
                log.exception("writing last-seen times failed; will retry")

    async def flush(self) -> None:
        batch, self._pending = self._pending, {}
        if not batch:
            return
        try:
            await self.node.run_db(ocpp_ingest.mark_seen, self.node.node_id, batch)
            self.writes += 1
        except Exception:
            for identity, at in batch.items():  # keep them (newer notes win)
                self._pending.setdefault(identity, at)
            raise

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self.flush()
