"""Engine, session factory and declarative base. No Flask here: the worker and OCPP server use it too.

Change announcements (for the OCPP nodes' caches, ocpp_server.cache): every commit, in any process, that
writes a charge point, a connector, a site or a transaction publishes after COMMIT, on the Redis channel
CHANGES_CHANNEL, the ids of the charge points (and sites) it changed. Nothing is installed at import: a
process turns the announcements on for its own sessions when it builds its Database (the web app factory,
each worker job's database, the CLI through the app; `Database(engine, redis_url)` or `track_changes()`),
and an OCPP node builds its writer's sessions with its own announcer (`Database.tracked_sessions`). ORM
writes are found by an `after_flush` hook on that session factory; a Core UPDATE/DELETE on one of those tables cannot be read that way, so it announces
"everything changed" unless its caller says what it changed (`announce()` with the statement marked
`execution_options(**ANNOUNCED)`). Publishing never fails a commit: with Redis away the message is
logged as lost and the nodes' bounded cache age (and their clearing on resubscription) covers it.
"""
from __future__ import annotations

import functools
import json
import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import MetaData, create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, ORMExecuteState, Session, sessionmaker
from sqlalchemy.types import DateTime, TypeDecorator

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every engine (SQLite forgets the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use utcnow() or an aware datetime")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _sqlite_pragmas(busy_timeout_ms: int):
    def apply(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
    return apply


def make_engine(url: str, statement_timeout_s: float | None = None) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout so several processes can share it.

    With statement_timeout_s (the OCPP node sets it), a hung or locked database makes statements,
    lock waits and connects fail after that long instead of stalling the caller."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        wait_s = statement_timeout_s or 10
        engine = create_engine(url, connect_args={"timeout": wait_s + 5, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas(wait_s * 1000))
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if statement_timeout_s:
        # No ping before every checkout: the node checks a connection out per group commit, and the ping is a
        # round trip each time. A connection the server dropped fails that batch instead; SQLAlchemy then
        # invalidates the pool, and the writer's one-by-one retry runs on fresh connections.
        ms = int(statement_timeout_s * 1000)
        return create_engine(url, pool_pre_ping=False, pool_size=5, max_overflow=10, pool_timeout=statement_timeout_s,
                             connect_args={"connect_timeout": max(int(statement_timeout_s), 1),
                                           "options": f"-c statement_timeout={ms} -c lock_timeout={ms}"})
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


class Database:
    """One engine plus its session factory; its sessions announce charger changes on redis_url."""

    def __init__(self, engine: Engine, redis_url: str | None = None) -> None:
        self.engine = engine
        self.announcer = ChangeAnnouncer(redis_url) if redis_url else None
        self.session_factory = sessionmaker(bind=engine, expire_on_commit=False)
        if self.announcer is not None:
            track_changes(self.session_factory, self.announcer)

    def tracked_sessions(self, announcer: "ChangeAnnouncer | None", *, node: bool = True) -> sessionmaker:
        """A second session factory on the same engine whose commits announce through `announcer`.

        node=True: a write that changed only the node's bookkeeping columns (BOOKKEEPING) is noted as
        quiet (the announcer learns it, other nodes are not told)."""
        factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        track_changes(factory, announcer, node=node)
        return factory

    @classmethod
    def from_url(cls, url: str, statement_timeout_s: float | None = None, redis_url: str | None = None) -> "Database":
        """redis_url: where commits announce charger changes (default: the REDIS_URL setting)."""
        if redis_url is None:
            from portal import settings

            redis_url = settings.get("redis_url")
        return cls(make_engine(url, statement_timeout_s), redis_url)

    @contextmanager
    def session(self, factory: sessionmaker | None = None) -> Iterator[Session]:
        """A session (of this database's factory, or of `factory`) closed on exit, rolled back on an exception."""
        session = (factory or self.session_factory)()
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


# --- change announcements for the OCPP nodes' caches -------------------------------------------

CHANGES_CHANNEL = "portal:charger-changes"
CHANGES_INFO = "charger_changes"  # session.info (this module's own): what the open transaction changed so far
ANNOUNCED = {"charger_changes_announced": True}  # execution option: this Core statement needs no fallback
# Tables whose rows an OCPP node caches, and how a row names the charge point it belongs to.
WATCHED = {"charge_points": "id", "connectors": "charge_point_id", "transactions": "charge_point_id"}
# Columns only a node writes and only the node holding the charger reads: a node does not announce a
# write that changed nothing else (last seen on every message, the running meter register of a session).
BOOKKEEPING = {"charge_points": frozenset({"last_seen_at", "skipped_samples", "clock_corrections"}),
               "transactions": frozenset({"meter_last_wh", "meter_last_at"})}


@dataclass
class Changes:
    """What one transaction wrote, by charge point id (and site id)."""

    charge_points: set[int] = field(default_factory=set)  # announced
    sites: set[int] = field(default_factory=set)
    everything: bool = False  # a Core statement whose rows are unknown
    quiet: set[int] = field(default_factory=set)  # a node's bookkeeping only: not announced to other nodes

    def __bool__(self) -> bool:
        return bool(self.charge_points or self.sites or self.everything or self.quiet)

    def message(self, origin: str) -> str | None:
        if not (self.charge_points or self.sites or self.everything):
            return None
        return json.dumps({"origin": origin, "cp": sorted(self.charge_points), "site": sorted(self.sites),
                           "all": self.everything}, separators=(",", ":"))


def changes(session: Session) -> Changes:
    found = session.info.get(CHANGES_INFO)
    if found is None:
        found = session.info[CHANGES_INFO] = Changes()
    return found


def announce(session: Session, charge_points: Any = (), sites: Any = ()) -> None:
    """Announce after COMMIT what a Core statement changed (ORM writes are found by themselves)."""
    found = changes(session)
    found.charge_points.update(int(i) for i in charge_points if i is not None)
    found.sites.update(int(i) for i in sites if i is not None)


def _changed_keys(obj: Any) -> set[str]:
    state = inspect(obj)
    return {key for key in state.committed_state if state.attrs[key].history.has_changes()}


def track_changes(factory: sessionmaker, announcer: Any, *, node: bool = False) -> None:
    """Install the change announcements on one session factory (called at a process's start-up).

    announcer.announce(Changes) runs after each COMMIT that changed something; node: see tracked_sessions."""
    event.listen(factory, "after_flush", functools.partial(_collect_changes, node=node))
    event.listen(factory, "do_orm_execute", _collect_core_changes)
    event.listen(factory, "after_commit", functools.partial(_publish_changes, announcer=announcer))
    event.listen(factory, "after_soft_rollback", _forget_changes)


def _collect_changes(session: Session, _flush_context: Any, *, node: bool) -> None:
    """Note which charge points and sites this flush wrote (the lists still show the pre-flush state)."""
    found: Changes | None = None
    for dirty, group in ((False, session.new), (True, session.dirty), (False, session.deleted)):
        for obj in group:
            table = getattr(obj, "__tablename__", None)
            if table == "sites":
                if dirty and not _changed_keys(obj):
                    continue
                found = found or changes(session)
                found.sites.add(obj.id)
                continue
            column = WATCHED.get(table)
            if column is None:
                continue
            quiet = False
            if dirty:
                keys = _changed_keys(obj)
                if not keys:
                    continue
                quiet = node and keys <= BOOKKEEPING.get(table, frozenset())
            found = found or changes(session)
            _note(found, getattr(obj, column), quiet)


def _note(found: Changes, cp_id: int | None, quiet: bool) -> None:
    if cp_id is None:
        found.everything = True
    elif quiet:
        found.quiet.add(cp_id)
    else:
        found.charge_points.add(cp_id)


def _collect_core_changes(state: ORMExecuteState) -> None:
    """A Core UPDATE/DELETE of a watched table: its rows are unknown here, so everything counts as changed
    unless the caller announced what it changed (execution option ANNOUNCED)."""
    if not (state.is_update or state.is_delete):
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if table not in WATCHED and table != "sites":
        return
    if state.execution_options.get("charger_changes_announced"):
        return
    changes(state.session).everything = True


def _publish_changes(session: Session, *, announcer: Any) -> None:
    found = session.info.pop(CHANGES_INFO, None)
    if found and announcer is not None:
        announcer.announce(found)


def _forget_changes(session: Session, previous_transaction: Any) -> None:
    """A rolled-back transaction changed nothing (a rolled-back SAVEPOINT keeps what its parent wrote:
    announcing a little more than changed is harmless, less is not)."""
    if previous_transaction.parent is None:
        session.info.pop(CHANGES_INFO, None)


class ChangeAnnouncer:
    """Publishes a commit's changes on CHANGES_CHANNEL. A commit never fails for it: when Redis does not
    answer, the message is lost (logged) and publishing pauses for PAUSE_S so pages stay fast."""

    PAUSE_S = 1.0

    def __init__(self, redis_url: str, origin: str = "") -> None:
        self.redis_url = redis_url
        self.origin = origin
        self._client: Any = None
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.published = 0
        self.lost = 0

    def _redis(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    from redis import Redis

                    self._client = Redis.from_url(self.redis_url, socket_connect_timeout=0.5, socket_timeout=1)
        return self._client

    def announce(self, found: Changes) -> None:
        message = found.message(self.origin)
        if message is None:
            return
        if time.monotonic() < self._paused_until:
            self.lost += 1
            return
        try:
            self._redis().publish(CHANGES_CHANNEL, message)
            self.published += 1
        except Exception as exc:  # Redis away: the commit stands; the nodes' cache age bounds the staleness
            self.lost += 1
            self._paused_until = time.monotonic() + self.PAUSE_S
            log.warning("charger changes not announced (Redis: %s); nodes see them within their cache age", exc)
