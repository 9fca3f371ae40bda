"""The message log: every OCPP frame in and out, per charger, kept for support a set number of days.

Frames are buffered and written in batches off the event loop, so a busy fleet costs one
transaction per batch instead of one per frame.
"""
from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from portal.db import Database, utcnow
from portal.models import OcppMessage

log = logging.getLogger(__name__)

SECRET_KEYS = ("AuthorizationKey",)  # ChangeConfiguration values never stored in clear
FLUSH_INTERVAL_S = 0.2
MAX_BATCH = 500


def describe(frame: str) -> tuple[int | None, str | None, str | None]:
    """(message type, unique id, action) of a raw frame, as far as it can be read."""
    try:
        data = json.loads(frame)
    except (ValueError, TypeError):
        return None, None, None
    if not isinstance(data, list) or not data:
        return None, None, None
    mtype = data[0] if isinstance(data[0], int) else None
    uid = str(data[1])[:64] if len(data) > 1 else None
    action = data[2][:40] if mtype == 2 and len(data) > 2 and isinstance(data[2], str) else None
    return mtype, uid, action


def redact(frame: str) -> str:
    """Hide secrets a frame may carry (a new AuthorizationKey in ChangeConfiguration)."""
    if not any(key in frame for key in SECRET_KEYS):
        return frame
    try:
        data = json.loads(frame)
        payload = data[3]
        if payload.get("key") in SECRET_KEYS:
            payload["value"] = "***"
            return json.dumps(data, separators=(",", ":"))
    except (ValueError, TypeError, IndexError, AttributeError, KeyError):
        pass
    return frame


def insert_rows(session: Session, rows: list[dict]) -> None:
    session.execute(insert(OcppMessage.__table__), rows)  # Core executemany, not the ORM bulk path


class MessageLog:
    """Buffers frames and writes them as OcppMessage rows in the background."""

    def __init__(self, db: Database, run: Callable[..., Awaitable[Any]] | None = None) -> None:
        self.db = db
        # run(fn, rows): the node's group commit, so the log shares the node's one writer (on SQLite a
        # second writer would wait on the first one's lock); without it the log writes on its own.
        self._run_write = run
        self._pending: list[dict] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()

    def record(self, identity: str, direction: str, frame: str, at: datetime | None = None) -> None:
        mtype, uid, action = describe(frame)
        self._pending.append({
            "identity": identity, "direction": direction, "message_type": mtype, "unique_id": uid,
            "action": action, "frame": redact(frame), "created_at": at or utcnow(),
        })
        if len(self._pending) >= MAX_BATCH:
            self._wake.set()

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
            except Exception:  # keep logging even when the database hiccups
                log.exception("message log write failed; will retry")

    async def flush(self) -> None:
        """Write everything buffered so far."""
        async with self._lock:
            batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                if self._run_write is not None:
                    await self._run_write(insert_rows, batch)
                else:
                    await asyncio.to_thread(self._write, batch)
            except Exception:
                self._pending[:0] = batch
                raise

    def _write(self, batch: list[dict]) -> None:
        with self.db.session() as s:
            insert_rows(s, batch)
            s.commit()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self.flush()


def purge_old_messages(session: Session, retention_days: int, now: datetime | None = None) -> int:
    """Delete log rows older than the retention period; returns how many went."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    result = session.execute(delete(OcppMessage).where(OcppMessage.created_at < cutoff))
    session.flush()
    return result.rowcount or 0
