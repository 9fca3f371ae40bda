"""What the hot path reads about a charger, kept by the node between group commits; changed elsewhere ->
dropped through Redis.

Kept per charger (by identity): the ChargePoint row with its connectors and its site, and its open
transactions, as ORM objects in one long-lived session that only the node's group commit uses, batch after
batch (expire_on_commit=False, so they keep their committed state). A batch that names a cached charger
gets it (and its open transactions) in its WriteBatch (ocpp_server.batch), which the writer hands the
domain functions (portal.services.ocpp_ingest) as `batch=`: they run no lookup query, and the node's own writes go through these very objects (the unit of work writes only what changed,
and the objects then hold what was committed). Why objects and not snapshots: the handlers (and the access
decisions they call) read and write ChargePoint, Connector, Site and Transaction objects; snapshots would
need every one of them rewritten around explicit UPDATEs. Why one session rather than re-attaching
detached objects to a new session per batch: re-attaching (session.add and its cascades) cost as much
CPU as the queries it saved (measured with the former bench/prefetch_cost.py, issue 14). Why a cache at
all, now that each connection holds its charge point id and open transactions: a MeterValues still needs
its Transaction object; bench/cache_worth.py compares (BENCHMARKS.md, issue 26).

The identity map is pruned after every batch, so the long-lived session never serves anything stale:
every object the batch loaded or inserted that is not part of a kept entry (tags, users, tariffs, closed
transactions, action requests) is expunged, and relationships other than cp.site and cp.connectors are
expired on the kept objects; an entry dropped or aged out is expunged before the next batch loads it.

Rules that keep it correct:
- A batch that fails (its COMMIT or any message) is rolled back, which expires every object in the
  session: the whole cache is cleared and the session replaced (failures are rare; the retry one by one
  runs in fresh sessions).
- After COMMIT an object with a column the ORM left unloaded (a server-side default or onupdate the
  database computed) is not kept: it would need a query to read. A row the batch inserted gets its
  omitted columns without any default set to NULL, which is what the database stored.
- One Site object per site for all cached chargers (the identity map's); older than the maximum age it
  is refreshed in place.
- Every commit anywhere that changes a charge point, its connectors, its site or its transactions
  publishes the ids after COMMIT (portal.db.track_changes, installed on each process's session factory at
  start-up: ORM writes by an after_flush hook, Core statements explicitly);
  `ocpp_server.changes.listen()` drops those entries. A change arriving while a batch runs is remembered, so the
  batch cannot keep what it read before. The node's own writes: through the cached objects they keep the
  entry; through any other object (a query in a batch that did not hold the entry) they drop it.
- Backstops: while the node is not subscribed the cache is off (every batch loads, nothing is kept); on
  every (re)subscription it is cleared (messages may have been lost); an entry older than
  OCPP_CACHE_MAX_AGE_S (60 s) is loaded again, so a lost message costs at most that long.
- A connect or disconnect always reads the database (`forget` before and after): those decide across
  nodes (which node holds the charger) and must not trust a copy.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import event, select
from sqlalchemy.orm import Session, joinedload, selectinload, sessionmaker

from ocpp_server.batch import WriteBatch
from ocpp_server.cache_objects import charger_usable, expunge, expunge_entry, loaded_nulls, trim, usable
from portal import settings
from portal.db import Changes
from portal.models import ChargePoint, Site, Transaction

log = logging.getLogger(__name__)


def max_age_s() -> float:
    return float(settings.get("ocpp_cache_max_age_s"))


@dataclass
class Entry:
    cp: ChargePoint
    transactions: tuple[Transaction, ...]  # open, oldest first
    site_id: int
    loaded_at: float


class ChargerCache:
    """Per-node cache; the writer thread uses it batch by batch, the event loop drops entries."""

    def __init__(self, max_age: float | None = None) -> None:
        self.max_age = max_age_s() if max_age is None else max_age
        self.enabled = False  # only while subscribed to the change channel
        self._lock = threading.Lock()
        self._entries: dict[str, Entry] = {}
        self._identity_by_id: dict[int, str] = {}
        self._sites: dict[int, tuple[Site, float]] = {}
        self._generation = 0
        self._batch: WriteBatch | None = None
        self._session: Session | None = None  # the writer's long-lived session (see the module docstring)
        self._session_generation = 0
        self._evict: list[Any] = []  # objects of dropped entries, expunged before the next batch
        self.hits = self.misses = self.dropped = self.clears = 0  # statistics (/healthz, tests, benchmarks)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, identity: str) -> bool:
        return identity in self._entries

    def stats(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "entries": len(self._entries), "hits": self.hits, "misses": self.misses,
                "dropped": self.dropped, "clears": self.clears}

    # --- dropping (any thread) ---------------------------------------------------------------------

    def clear(self) -> None:
        with self._lock:
            self._clear_locked()

    def _clear_locked(self) -> None:
        self._generation += 1  # the writer replaces its session before the next batch
        self._evict = []
        self._entries.clear()
        self._identity_by_id.clear()
        self._sites.clear()
        self.clears += 1

    def forget(self, identity: str) -> None:
        with self._lock:
            entry = self._entries.get(identity)
            if entry is not None:
                self._drop_id_locked(entry.cp.id)
            elif self._batch is not None and identity in self._batch.charge_points:
                self._batch.dropped.add(self._batch.charge_points[identity].id)

    def drop(self, charge_points: Iterable[int] = (), sites: Iterable[int] = (), everything: bool = False) -> None:
        """Changed elsewhere: forget these chargers (and every charger of these sites)."""
        with self._lock:
            if everything:
                self._clear_locked()
                return
            for cp_id in charge_points:
                self._drop_id_locked(cp_id)
            for site_id in sites:
                self._drop_site_locked(site_id)

    def _drop_id_locked(self, cp_id: int) -> None:
        if self._batch is not None:
            self._batch.dropped.add(cp_id)
        identity = self._identity_by_id.pop(cp_id, None)
        entry = self._entries.pop(identity, None) if identity is not None else None
        if entry is not None:
            self.dropped += 1
            self._evict.append(entry.cp)
            self._evict.extend(entry.transactions)

    def _drop_site_locked(self, site_id: int) -> None:
        site = self._sites.pop(site_id, None)
        if site is not None:
            self._evict.append(site[0])
        if self._batch is not None:
            self._batch.dropped_sites.add(site_id)
        for identity, entry in list(self._entries.items()):
            if entry.site_id == site_id:
                self._drop_id_locked(entry.cp.id)

    def written(self, found: Changes) -> None:
        """The node's own commit wrote these: an entry stays only if the write went through its objects
        (the current batch of this thread held them)."""
        with self._lock:
            if found.everything:
                self._clear_locked()
                return
            batch = self._batch if self._batch is not None and self._batch.thread == threading.get_ident() else None
            held = batch.ids if batch is not None else ()
            for cp_id in found.charge_points | found.quiet:
                if cp_id in held:
                    batch.written.add(cp_id)
                else:
                    self._drop_id_locked(cp_id)
            for site_id in found.sites:
                self._drop_site_locked(site_id)

    # --- one batch (the writer's thread) -------------------------------------------------------------

    def begin(self, factory: sessionmaker, batch: WriteBatch, identities: Iterable[str]) -> Session:
        """The writer's session for the next batch; `batch` is filled with the cached state of these chargers,
        the others are loaded (three queries for all of them)."""
        with self._lock:
            evict, self._evict = self._evict, []
            if self._session is not None and self._session_generation != self._generation:
                self._retire_session()
                evict = []
            if self._session is None:
                self._session = factory()
                self._session_generation = self._generation
                # raw: the listeners get the InstanceState (the ORM's wrapper per object cost more than the rest)
                event.listen(self._session, "loaded_as_persistent", self._note_touched, raw=True)
                event.listen(self._session, "pending_to_persistent", self._note_inserted, raw=True)
        session = self._session
        for obj in evict:
            expunge(session, obj)
        self._open(session, batch, identities)
        return session

    def _note_touched(self, session: Session, state: Any) -> None:
        batch = self._batch
        if batch is not None:
            batch.touched.append(state)

    def _note_inserted(self, session: Session, state: Any) -> None:
        batch = self._batch
        if batch is not None:
            batch.touched.append(state)
            batch.inserted.append(state)

    def close(self) -> None:
        """At shutdown (the writer has stopped; a batch cancelled mid-commit may still finish in its thread,
        and then keeps nothing: the clear below changes the generation)."""
        with self._lock:
            self._clear_locked()
            if self._session is not None and self._batch is None:
                self._retire_session()

    def _retire_session(self) -> None:
        session, self._session = self._session, None
        try:
            session.close()
        except Exception:
            log.exception("closing the charger cache's session failed")

    def _open(self, session: Session, batch: WriteBatch, identities: Iterable[str]) -> None:
        now = time.monotonic()
        with self._lock:
            batch.generation, batch.thread = self._generation, threading.get_ident()
            self._batch = batch
            hits, misses, aged = self._lookup(identities, now)
            stale_sites = [site for site, loaded_at in self._sites.values() if now - loaded_at >= self.max_age]
        for entry in aged:  # loaded again below: the old objects must not answer the query from the identity map
            expunge_entry(session, entry)
        for entry in hits:
            batch.hold(entry.cp, list(entry.transactions), entry.loaded_at)
        self.hits += len(hits)
        for site in stale_sites:  # older than the maximum age: read again, in place
            session.refresh(site)
            batch.new_sites[site.id] = site
        if misses:
            self.misses += len(misses)
            self._load(session, batch, misses, now)

    def _lookup(self, identities: Iterable[str], now: float) -> tuple[list[Entry], list[str], list[Entry]]:
        """(entries to use, identities to load, aged entries among those) under the lock."""
        hits: list[Entry] = []
        misses: list[str] = []
        aged: list[Entry] = []
        for identity in identities:
            entry = self._entries.get(identity) if self.enabled else None
            if entry is not None and now - entry.loaded_at < self.max_age:
                hits.append(entry)
                continue
            misses.append(identity)
            if entry is not None:
                aged.append(entry)
        return hits, misses, aged

    def _load(self, session: Session, batch: WriteBatch, identities: list[str], now: float) -> None:
        # populate_existing: should any object of these rows still be in the identity map (the site all
        # cached chargers share, say), it is overwritten with what the database holds now, never served as it was
        cps = session.scalars(select(ChargePoint).where(ChargePoint.identity.in_(identities))
                              .options(joinedload(ChargePoint.site), selectinload(ChargePoint.connectors))
                              .execution_options(populate_existing=True)).unique().all()
        if not cps:
            return
        for cp in cps:
            batch.new_sites[cp.site_id] = cp.site  # read just now: fresh
            batch.hold(cp, [], now)
            batch.loaded.add(cp.id)
        for tx in session.scalars(select(Transaction).where(
                Transaction.charge_point_id.in_([cp.id for cp in cps]), Transaction.status == "active")
                .order_by(Transaction.started_at).execution_options(populate_existing=True)):
            batch.transactions[tx.charge_point_id].append(tx)

    def end(self, session: Session, batch: WriteBatch, committed: bool) -> None:
        """After the batch: keep what it committed and prune the rest, or (after a failure) roll back,
        clear everything and replace the session."""
        try:
            if committed:
                self._keep(session, batch)
            else:
                try:
                    session.rollback()
                finally:
                    with self._lock:
                        self._clear_locked()
                        self._retire_session()
        except Exception:
            log.exception("charger cache: keeping a batch's state failed; cleared")
            with self._lock:
                self._clear_locked()
                if self._session is session:
                    self._retire_session()
        finally:
            with self._lock:
                if self._batch is batch:
                    self._batch = None

    def _keep(self, session: Session, batch: WriteBatch) -> None:
        for state in batch.inserted:
            obj = state.obj()
            if obj is not None:
                loaded_nulls(obj)
        kept, unkept = self._candidates(batch)
        stored, sites = self._store(batch, kept, unkept)
        keep_ids = self._trim_kept(session, batch, stored, sites)
        _prune(session, batch, keep_ids, unkept)

    def _candidates(self, batch: WriteBatch) -> tuple[list[Entry], list[ChargePoint]]:
        """The chargers of the batch that can be kept (as entries), and those that cannot."""
        kept: list[Entry] = []
        unkept: list[ChargePoint] = []
        checked = batch.loaded | batch.written  # the others are as the cache kept them: nothing to check
        for site in batch.new_sites.values():
            if not usable(site):
                batch.dropped_sites.add(site.id)
        for identity, cp in batch.charge_points.items():
            txs = tuple(tx for tx in batch.transactions.get(cp.id, ()) if tx.status == "active")
            if cp.id in batch.dropped or cp.site_id in batch.dropped_sites or (
                    cp.id in checked and not charger_usable(cp, txs)):
                unkept.append(cp)
            else:
                kept.append(Entry(cp, txs, cp.site_id, batch.loaded_at[identity]))
        return kept, unkept

    def _store(self, batch: WriteBatch, kept: list[Entry], unkept: list[ChargePoint]) -> tuple[list[Entry], list[Site]]:
        """Enter the kept entries (unless the cache was cleared or they were dropped meanwhile); unkept
        grows by the ones refused. Returns the stored entries and every cached site."""
        now = time.monotonic()
        stored: list[Entry] = []
        with self._lock:
            if batch.generation == self._generation and self.enabled:
                for site_id, site in batch.new_sites.items():
                    if site_id not in batch.dropped_sites:
                        self._sites[site_id] = (site, now)
                for entry in kept:
                    if self._storable(batch, entry):
                        self._entries[entry.cp.identity] = entry
                        self._identity_by_id[entry.cp.id] = entry.cp.identity
                        stored.append(entry)
                    else:
                        unkept.append(entry.cp)
            else:  # cleared while the batch ran, or the cache is off: keep nothing of this batch
                unkept.extend(entry.cp for entry in kept)
            for cp in unkept:  # what the cache held before this batch is outdated now
                if self._identity_by_id.get(cp.id) == cp.identity:
                    del self._identity_by_id[cp.id]
                    self._entries.pop(cp.identity, None)
            return stored, [site for site, _ in self._sites.values()]

    def _storable(self, batch: WriteBatch, entry: Entry) -> bool:
        return (entry.cp.id not in batch.dropped and entry.site_id not in batch.dropped_sites
                and entry.site_id in self._sites)

    @staticmethod
    def _trim_kept(session: Session, batch: WriteBatch, stored: list[Entry], sites: list[Site]) -> set[int]:
        """Expire what the kept objects do not keep; returns the ids (id()) of every object kept."""
        keep_ids = {id(site) for site in sites}
        for entry in stored:
            keep_ids.add(id(entry.cp))
            keep_ids.update(id(c) for c in entry.cp.connectors)
            keep_ids.update(id(tx) for tx in entry.transactions)
            trim(session, entry.cp)
            for tx in entry.transactions:
                trim(session, tx)
        trimmed_sites = {id(site): site for site in batch.new_sites.values()}
        trimmed_sites.update((id(entry.cp.site), entry.cp.site) for entry in stored)
        for site in trimmed_sites.values():
            trim(session, site)
        return keep_ids


def _prune(session: Session, batch: WriteBatch, keep_ids: set[int], unkept: list[ChargePoint]) -> None:
    """Nothing the batch touched outlives it unless it belongs to a kept entry."""
    for state in batch.touched:
        obj = state.obj()
        if obj is not None and id(obj) not in keep_ids:
            expunge(session, obj)
    for cp in unkept:
        expunge(session, cp)
    for txs in batch.transactions.values():
        for tx in txs:
            if id(tx) not in keep_ids:
                expunge(session, tx)
