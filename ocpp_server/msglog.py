"""The message log: every OCPP frame in and out, per charger, kept for support a set number of days.

Frames are buffered and written in batches off the event loop, so a busy fleet costs one
transaction per batch instead of one per frame. The log never blocks and never grows without
bound: the buffer is capped in bytes (OCPP_MSGLOG_BUFFER_BYTES; the oldest frames go first, counted
in `dropped`) while the database is away, and a batch the database refuses for its content is
written frame by frame, so one frame it cannot store is dropped alone (counted in `quarantined`).
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import deque
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable

from sqlalchemy import delete, insert
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from portal import settings
from portal.db import Database, utcnow
from portal.models import OcppMessage
from portal.services.people.secrets import redact_frame
from ocpp_server.tasks import cancel_and_wait

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.2
MAX_BATCH = 500
MESSAGE_TYPES = (2, 3, 4)  # CALL, CALLRESULT, CALLERROR
# The database is away (not: it refused this content); the batch is kept for the next flush.
UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, TimeoutError, ConnectionError)


_UNREAD = object()  # record(): the caller has not parsed the frame
# The head of a frame as json.dumps(separators=(",", ":")) writes it (our outgoing frames): type, id, action.
_HEAD = re.compile(r'\[([234]),"([^"\\\x00-\x1f]{0,64})"(?:,"([A-Za-z]{1,40})")?[,\]]')


def describe(frame: str, parsed: Any = _UNREAD) -> tuple[int | None, str | None, str | None]:
    """(message type, unique id, action) of a raw frame, as far as it can be read. ``parsed`` is the
    frame already decoded by the caller (the node parses each incoming frame once); without it the
    head of a compact frame is read by a pattern and anything else is decoded here."""
    if parsed is _UNREAD:
        head = _HEAD.match(frame)
        mtype = int(head.group(1)) if head is not None else None
        if mtype in (3, 4):
            return mtype, head.group(2), None
        if mtype == 2 and head.group(3) is not None:
            return mtype, head.group(2), head.group(3)
        try:
            parsed = json.loads(frame)
        except (ValueError, TypeError):
            return None, None, None
    return describe_parsed(parsed)


def describe_parsed(data: Any) -> tuple[int | None, str | None, str | None]:
    if not isinstance(data, list) or not data:
        return None, None, None
    mtype = data[0] if isinstance(data[0], int) and data[0] in MESSAGE_TYPES else None
    uid = clean(str(data[1])[:64]) if len(data) > 1 else None
    action = clean(data[2][:40]) if mtype == 2 and len(data) > 2 and isinstance(data[2], str) else None
    return mtype, uid, action


def clean(text: str) -> str:
    """Text every database stores: PostgreSQL refuses NUL characters."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def redact(frame: str) -> str:
    """The frame as it may be stored: the AuthorizationKey hidden in both directions, in any case."""
    return redact_frame(frame)


def cut(frame: str, limit: int) -> str:
    """A frame longer than limit characters is kept cut, with its original size noted."""
    if len(frame) <= limit:
        return frame
    return f"{frame[:limit]} …[cut: the frame had {len(frame)} characters]"


class LogBudget:
    """Bytes of message log a charger may fill: at most `capacity` within a rolling `window_s` (a bucket
    refilled continuously), so a charger sending large frames fast cannot fill the database or the
    staff page. Frames over the budget are counted, and noted in one row once the budget allows."""

    def __init__(self, capacity: int, window_s: float) -> None:
        self.capacity, self.rate = capacity, capacity / max(window_s, 1e-3)
        self._state: dict[str, list[float]] = {}  # identity -> [allowance, at, frames skipped, bytes skipped]
        self.skipped = 0

    def spend(self, identity: str, size: int, now: float | None = None) -> tuple[bool, str | None]:
        """(store this frame?, a note about frames skipped before it, to store first)."""
        now = time.monotonic() if now is None else now
        state = self._state.setdefault(identity, [float(self.capacity), now, 0, 0])
        state[0] = min(float(self.capacity), state[0] + (now - state[1]) * self.rate)
        state[1] = now
        note = (f'"[message log budget of this charger spent: {int(state[2])} frame(s), '
                f'{int(state[3])} characters not stored]"') if state[2] else None
        if size + len(note or "") > state[0]:
            state[2] += 1
            state[3] += size
            self.skipped += 1
            return False, None
        state[0] -= size + len(note or "")
        state[2] = state[3] = 0
        if len(self._state) > 100_000:  # idle chargers' full buckets need not be remembered
            self._state = {k: v for k, v in self._state.items() if v[0] < self.capacity}
        return True, note


def insert_rows(session: Session, rows: list[dict]) -> None:
    session.execute(insert(OcppMessage.__table__), rows)  # Core executemany, not the ORM bulk path


class MessageLog:
    """Buffers frames and writes them as OcppMessage rows in the background."""

    def __init__(self, db: Database, max_buffer_bytes: int | None = None,
                 run: Callable[..., Awaitable[Any]] | None = None) -> None:
        self.db = db
        # run(fn, rows): the node's group commit, so the log shares the node's one writer (on SQLite a
        # second writer would wait on the first one's lock); without it the log writes on its own.
        self._run_write = run
        self.max_buffer_bytes = max_buffer_bytes or int(settings.get("ocpp_msglog_buffer_bytes"))
        self._pending: deque[dict] = deque()
        self._pending_bytes = 0
        self.budget = LogBudget(int(settings.get("ocpp_msglog_budget_bytes")), float(settings.get("ocpp_msglog_budget_window_s")))
        self.frame_max = int(settings.get("ocpp_msglog_frame_max_bytes"))
        self.dropped = 0  # frames dropped because the buffer was full (database away)
        self.quarantined = 0  # frames the database refused to store, dropped one by one
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()

    def stats(self) -> dict:
        return {"buffered": len(self._pending), "buffered_bytes": self._pending_bytes,
                "over_budget": self.budget.skipped,
                "dropped": self.dropped, "quarantined": self.quarantined}

    def record(self, identity: str, direction: str, frame: str, at: datetime | None = None,
               parsed: Any = _UNREAD) -> None:
        mtype, uid, action = describe(frame, parsed)
        stored = cut(clean(redact(frame)), self.frame_max)
        allowed, note = self.budget.spend(identity, len(stored))
        rows = [{"identity": identity, "direction": direction, "message_type": None, "unique_id": None,
                 "action": None, "frame": note, "created_at": at or utcnow()}] if note else []
        if allowed:
            rows.append({"identity": identity, "direction": direction, "message_type": mtype, "unique_id": uid,
                         "action": action, "frame": stored, "created_at": at or utcnow()})
        if rows:
            self._keep(rows, front=False)
        if len(self._pending) >= MAX_BATCH:
            self._wake.set()

    def _keep(self, rows: list[dict], front: bool) -> None:
        """Buffer rows (a failed batch goes back in front); beyond the byte cap the oldest are dropped."""
        if front:
            self._pending.extendleft(reversed(rows))
        else:
            self._pending.extend(rows)
        self._pending_bytes += sum(len(r["frame"]) for r in rows)
        while self._pending_bytes > self.max_buffer_bytes and self._pending:
            self._pending_bytes -= len(self._pending.popleft()["frame"])
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning("message log buffer full (%d bytes): oldest frames dropped (%d so far)",
                            self.max_buffer_bytes, self.dropped)

    def _take(self) -> list[dict]:
        batch = [self._pending.popleft() for _ in range(min(len(self._pending), MAX_BATCH))]
        self._pending_bytes -= sum(len(r["frame"]) for r in batch)
        return batch

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ocpp-msglog")

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), FLUSH_INTERVAL_S)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.flush()
            except UNAVAILABLE as exc:  # keep logging even when the database is away
                log.warning("message log write failed (database unavailable); will retry: %s", exc)
                await asyncio.sleep(1)
            except Exception:
                log.exception("message log write failed; will retry")

    async def flush(self) -> None:
        """Write everything buffered so far; raises (keeping the frames) when the database is away."""
        async with self._lock:
            while self._pending:
                batch = self._take()
                try:
                    if self._run_write is not None:
                        await self._run_write(insert_rows, batch)
                    else:
                        await asyncio.to_thread(self._write, batch)
                except UNAVAILABLE:
                    self._keep(batch, front=True)
                    raise
                except Exception:
                    log.warning("message log batch refused by the database; writing its frames one by one")
                    rest = await asyncio.to_thread(self._write_each, batch)
                    if rest:
                        self._keep(rest, front=True)
                        raise ConnectionError("the database went away while writing frames one by one")

    def _write(self, batch: list[dict]) -> None:
        with self.db.session() as s:
            insert_rows(s, batch)
            s.commit()

    def _write_each(self, batch: list[dict]) -> list[dict]:
        """One transaction per frame: a frame the database refuses is dropped alone, never retried.

        Returns the frames not written because the database went away meanwhile."""
        for i, row in enumerate(batch):
            try:
                self._write([row])
            except UNAVAILABLE:
                return batch[i:]
            except Exception as exc:
                self.quarantined += 1
                log.error("message log: frame from %s dropped, the database refused it: %s (%r)",
                          row.get("identity"), type(exc).__name__, row.get("frame", "")[:120])
        return []

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        try:
            await self.flush()
        except UNAVAILABLE:
            log.error("message log: %d frames not written at shutdown (database unavailable)", len(self._pending))


def purge_old_messages(session: Session, retention_days: int, now: datetime | None = None) -> int:
    """Delete log rows older than the retention period; returns how many went."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    result = session.execute(delete(OcppMessage).where(OcppMessage.created_at < cutoff))
    session.flush()
    return result.rowcount or 0
