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

With `sessions` (the node's charger cache, ocpp_server.cache) a batch runs in the session
`sessions.begin(db, session_info, [(fn, args), ...])` gives (one long-lived session holding the cached
chargers) and `sessions.end(session, committed)` follows its COMMIT or failure (keep what was committed, or
roll back and drop the cache). The retries one by one always use fresh sessions.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy.orm import Session

from portal import settings
from portal.db import Database
from ocpp_server.tasks import cancel_and_wait

log = logging.getLogger(__name__)


WINDOW_S = settings.get("ocpp_group_commit_window_s")
MAX_BATCH = settings.get("ocpp_group_commit_max")


@dataclass
class _Item:
    fn: Callable[..., Any]
    args: tuple
    kwargs: dict
    future: asyncio.Future


class GroupWriter:
    def __init__(self, db: Database, window_s: float = WINDOW_S, max_batch: int = MAX_BATCH,
                 prepare: Callable[[Session, list[tuple[Callable[..., Any], tuple]]], None] | None = None,
                 sessions: Any = None, session_info: dict | None = None) -> None:
        self.db = db
        self.prepare = prepare  # prepare(session, [(fn, args), ...]) before a batch runs (e.g. bulk lookups)
        self.sessions = sessions  # begin(db, info, calls) -> session; end(session, committed)
        self.session_info = session_info  # added to every session's info (the node's announcer)
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
        if self._task is None or self._task.done():  # not started, stopped or failed: one-message transaction
            return await asyncio.to_thread(self._single, _Item(fn, args, kwargs, None))  # type: ignore[arg-type]
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Item(fn, args, kwargs, future))
        return await future

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
                    if not item.future.done():
                        item.future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("writer stopped"))
                raise
            for item, (ok, value) in zip(batch, outcomes):
                if item.future.done():  # the handler gave up (its socket closed)
                    continue
                if ok:
                    item.future.set_result(value)
                else:
                    item.future.set_exception(value)

    def _commit(self, batch: list[_Item]) -> list[tuple[bool, Any]]:
        self.batches += 1
        self.items += len(batch)
        try:
            if self.sessions is not None:
                results = self._in_kept_session(batch)
            else:
                with self.db.session(self.session_info) as session:
                    if self.prepare is not None and len(batch) > 1:
                        self.prepare(session, [(item.fn, item.args) for item in batch])
                    results = [item.fn(session, *item.args, **item.kwargs) for item in batch]
                    session.commit()
            return [(True, r) for r in results]
        except Exception:
            if len(batch) == 1:
                return [self._outcome(batch[0])]
            self.retried_batches += 1
            log.warning("group commit of %d messages failed; retrying them one by one", len(batch), exc_info=True)
            return [self._outcome(item) for item in batch]

    def _in_kept_session(self, batch: list[_Item]) -> list[Any]:
        session = self.sessions.begin(self.db, self.session_info or {}, [(item.fn, item.args) for item in batch])
        committed = False
        try:
            results = [item.fn(session, *item.args, **item.kwargs) for item in batch]
            session.commit()
            committed = True
            return results
        finally:
            self.sessions.end(session, committed)

    def _outcome(self, item: _Item) -> tuple[bool, Any]:
        try:
            return True, self._single(item)
        except Exception as exc:
            return False, exc

    def _single(self, item: _Item) -> Any:
        with self.db.session(self.session_info) as session:
            result = item.fn(session, *item.args, **item.kwargs)
            session.commit()
            return result
