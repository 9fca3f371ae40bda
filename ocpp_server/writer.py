"""Group commit: one writer per node; what arrives within a short window shares one transaction.

A handler awaits `writer.submit(fn, *args)`; fn(session, *args) runs in the writer's batch, and the
handler gets fn's result only after the batch's COMMIT returned, so every answer a charger receives
is for something durably stored (a node killed mid-batch loses only messages it never answered).

The writer takes the first waiting item, waits WINDOW_S for company when it would otherwise go alone,
then takes everything queued up to MAX_BATCH. While a batch commits the next one gathers, so under load
the window costs nothing and one fsync (SQLite) or one round trip of COMMIT (PostgreSQL) serves many
messages. A batch that fails anywhere (an exception in one fn, or the COMMIT itself) is rolled back and
its items are retried one by one, each in its own transaction, so one bad message cannot fail its
neighbours; each then gets its own result or exception.

Each transaction has its WriteBatch (ocpp_server.batch), handed to the per-charger messages
(`submit_for(identity, fn, ...)` runs fn(session, identity, ..., batch=batch)); the batch's meter rows are
inserted just before its COMMIT. With `cache` (the node's charger cache, ocpp_server.cache) a batch runs in
the session `cache.begin(factory, batch, identities)` gives (one long-lived session holding the cached
chargers, which it puts in the batch) and `cache.end(session, batch, committed)` follows its COMMIT or
failure (keep what was committed, or roll back and drop the cache). The retries one by one always use
fresh sessions and a fresh batch.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy.orm import Session, sessionmaker

from ocpp_server.batch import WriteBatch
from ocpp_server.cache import ChargerCache
from ocpp_server.tasks import cancel_and_wait
from portal import settings
from portal.db import Database

log = logging.getLogger(__name__)


WINDOW_S = settings.get("ocpp_group_commit_window_s")
MAX_BATCH = settings.get("ocpp_group_commit_max")


@dataclass
class _Item:
    fn: Callable[..., Any]
    args: tuple
    kwargs: dict
    future: asyncio.Future | None
    charger: str | None = None  # a per-charger message: fn(session, charger, *args, batch=..., **kwargs)

    def run(self, session: Session, batch: WriteBatch) -> Any:
        if self.charger is None:
            return self.fn(session, *self.args, **self.kwargs)
        return self.fn(session, self.charger, *self.args, batch=batch, **self.kwargs)


def _settle(item: _Item, ok: bool, value: Any) -> None:
    """Hand a message's result (or exception) to its handler, unless it gave up (its socket closed)."""
    if item.future is None or item.future.done():
        return
    if ok:
        item.future.set_result(value)
    else:
        item.future.set_exception(value)


class GroupWriter:
    def __init__(self, db: Database, window_s: float = WINDOW_S, max_batch: int = MAX_BATCH,
                 cache: ChargerCache | None = None, session_factory: sessionmaker | None = None) -> None:
        self.db = db
        self.cache = cache
        self.session_factory = session_factory or db.session_factory  # the node's announces its commits
        self.window_s = window_s
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self.batches = 0  # statistics for benchmarks and tests
        self.items = 0
        self.retried_batches = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="ocpp-group-writer")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is None:
            return
        while not self._queue.empty() and not self._task.done():
            await asyncio.sleep(0.01)
        await cancel_and_wait(self._task)
        self._task = None

    async def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """fn(session, *args, **kwargs) in the next batch; its result once that batch committed."""
        return await self._submit(_Item(fn, args, kwargs, None))

    async def submit_for(self, charger: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A message about one charger: fn(session, charger, *args, batch=<the WriteBatch>, **kwargs); the
        batch holds that charger (from the cache, or loaded with the batch's other chargers)."""
        return await self._submit(_Item(fn, args, kwargs, None, charger))

    async def _submit(self, item: _Item) -> Any:
        if self._task is None or self._task.done():  # not started, stopped or failed: one-message transaction
            return await asyncio.to_thread(self._single, item)
        item.future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(item)
        return await item.future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            if self._queue.empty() and self.window_s > 0:
                await asyncio.sleep(self.window_s)
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                outcomes = await asyncio.to_thread(self._commit, batch)
            except BaseException as exc:  # cancelled while committing, or the thread failed
                for item in batch:
                    if item.future is not None and not item.future.done():
                        item.future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("writer stopped"))
                raise
            for item, outcome in zip(batch, outcomes):
                _settle(item, *outcome)

    def _commit(self, batch: list[_Item]) -> list[tuple[bool, Any]]:
        self.batches += 1
        self.items += len(batch)
        try:
            if self.cache is not None:
                results = self._in_kept_session(batch)
            else:
                results = self._in_fresh_session(batch)
            return [(True, r) for r in results]
        except Exception:
            if len(batch) == 1:
                return [self._outcome(batch[0])]
            self.retried_batches += 1
            log.warning("group commit of %d messages failed; retrying them one by one", len(batch), exc_info=True)
            return [self._outcome(item) for item in batch]

    def _in_kept_session(self, items: list[_Item]) -> list[Any]:
        batch = WriteBatch()
        chargers = list(dict.fromkeys(item.charger for item in items if item.charger))
        session = self.cache.begin(self.session_factory, batch, chargers)
        committed = False
        try:
            results = [item.run(session, batch) for item in items]
            batch.write_meter_rows(session)
            session.commit()
            committed = True
            return results
        finally:
            self.cache.end(session, batch, committed)

    def _in_fresh_session(self, items: list[_Item]) -> list[Any]:
        batch = WriteBatch()
        with self.db.session(self.session_factory) as session:
            results = [item.run(session, batch) for item in items]
            batch.write_meter_rows(session)
            session.commit()
            return results

    def _outcome(self, item: _Item) -> tuple[bool, Any]:
        try:
            return True, self._single(item)
        except Exception as exc:
            return False, exc

    def _single(self, item: _Item) -> Any:
        return self._in_fresh_session([item])[0]
