"""What the hot path reads about a charger, kept by the node between group commits; changed elsewhere ->
dropped through Redis.

Kept per charger (by identity): the ChargePoint row with its connectors and its site, and its open
transactions, as the ORM objects a batch loaded. Between batches they are detached (the sessions use
expire_on_commit=False, so they keep their loaded state); the next batch that names the charger re-attaches
them to its own session (`session.add`, which cascades to the site and connectors), so the domain
functions (portal.services.ocpp_ingest) find them in the identity map and run no lookup query, and the
node's own writes go through these very objects: the unit of work writes only what changed, and the
objects hold what was committed. Why objects and not snapshots: the handlers (and the access decisions
they call) read and write ChargePoint, Connector, Site and Transaction objects; snapshots would need every
one of them rewritten around explicit UPDATEs. Why not one long-lived session: its identity map would keep
every row any handler ever touched (tags, users, tariffs) and serve them stale; here only the four kinds
above survive a batch, and relationships other than cp.site / cp.connectors are expired before the batch's
session closes, so a tariff, an owner or a tag is still read fresh by whoever needs it.

Rules that keep it correct:
- A batch that fails (its COMMIT or any message) is rolled back: the rollback expires every object it
  had attached, so the whole cache is cleared (failures are rare; the retry one by one loads again).
- After COMMIT an object that has an expired column (a server-side default or onupdate the database
  computed) is not kept: it would need a query to read. The models use Python-side defaults, so this
  does not happen today, but a new server default costs a reload, never a wrong value.
- One Site object per site id for all cached chargers (a session can hold one object per row): a charger
  loaded fresh gets the cached Site; a site older than the maximum age is refreshed in place.
- Every commit anywhere that changes a charge point, its connectors, its site or its transactions
  publishes the ids after COMMIT (portal.db: ORM writes by an after_flush hook, Core statements
  explicitly); `listen()` drops those entries. A change arriving while a batch runs is remembered so the
  batch cannot store back what it read before. The node's own writes: through the cached objects they
  keep the entry; through any other object (a row loaded by a query in a batch that did not attach the
  entry) they drop it.
- Backstops: while the node is not subscribed the cache is off (every batch loads, nothing is kept); on
  every (re)subscription it is cleared (messages may have been lost); an entry older than
  OCPP_CACHE_MAX_AGE_S (60 s) is loaded again, so a lost message costs at most that long.
- A connect or disconnect always reads the database (`forget` before and after): those decide across
  nodes (which node holds the charger) and must not trust a copy.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from portal.config import setting
from portal.db import CHANGES_CHANNEL, ChangeAnnouncer, Changes
from portal.models import ChargePoint, Connector, Site, Transaction
from portal.services.ocpp_ingest.common import CACHE_BATCH, PREFETCHED, PREFETCHED_OPEN

if TYPE_CHECKING:
    from ocpp_server.node import Node

log = logging.getLogger(__name__)


def _columns(cls: type) -> frozenset[str]:
    return frozenset(attr.key for attr in inspect(cls).column_attrs)


# Relationships a cached object keeps loaded; any other loaded relationship is expired before the batch's
# session closes (read fresh next time, as without a cache).
KEPT = {ChargePoint: frozenset({"site", "connectors"}), Connector: frozenset({"charge_point"}),
        Site: frozenset(), Transaction: frozenset()}
COLUMNS = {cls: _columns(cls) for cls in KEPT}
RELATIONSHIPS = {cls: tuple(rel.key for rel in inspect(cls).relationships if rel.key not in KEPT[cls])
                 for cls in KEPT}


def max_age_s() -> float:
    return float(setting("OCPP_CACHE_MAX_AGE_S"))


@dataclass
class Entry:
    cp: ChargePoint
    transactions: tuple[Transaction, ...]  # open, oldest first
    site_id: int
    loaded_at: float


@dataclass
class Batch:
    """What one group commit took from (or loaded into) the cache."""

    generation: int
    thread: int
    cps: dict[str, ChargePoint] = field(default_factory=dict)
    ids: set[int] = field(default_factory=set)  # charge point ids held by this batch
    transactions: dict[int, list[Transaction]] = field(default_factory=dict)  # by charge point id
    loaded_at: dict[str, float] = field(default_factory=dict)
    new_sites: dict[int, Site] = field(default_factory=dict)
    dropped: set[int] = field(default_factory=set)  # charge point ids changed elsewhere meanwhile
    dropped_sites: set[int] = field(default_factory=set)
    inserted: list[Any] = field(default_factory=list)  # rows this batch inserted (a Start, a new connector)


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
        self._batch: Batch | None = None
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
        self._generation += 1
        self._entries.clear()
        self._identity_by_id.clear()
        self._sites.clear()
        self.clears += 1

    def forget(self, identity: str) -> None:
        with self._lock:
            entry = self._entries.pop(identity, None)
            if entry is not None:
                self._identity_by_id.pop(entry.cp.id, None)
                self.dropped += 1
                if self._batch is not None:
                    self._batch.dropped.add(entry.cp.id)
            elif self._batch is not None and identity in self._batch.cps:
                self._batch.dropped.add(self._batch.cps[identity].id)

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
        if identity is not None and self._entries.pop(identity, None) is not None:
            self.dropped += 1

    def _drop_site_locked(self, site_id: int) -> None:
        self._sites.pop(site_id, None)
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
                if cp_id not in held:
                    self._drop_id_locked(cp_id)
            for site_id in found.sites:
                self._drop_site_locked(site_id)

    # --- one batch (the writer's thread) -------------------------------------------------------------

    def open_batch(self, session: Session, identities: Iterable[str]) -> None:
        """Put the cached state of these chargers into the batch's session; load the others (three
        queries for all of them). The domain functions find both through session.info."""
        now = time.monotonic()
        with self._lock:
            batch = Batch(self._generation, threading.get_ident())
            self._batch = batch
            use = self.enabled
            hits: list[Entry] = []
            misses: list[str] = []
            for identity in identities:
                entry = self._entries.get(identity) if use else None
                if entry is not None and now - entry.loaded_at < self.max_age:
                    hits.append(entry)
                else:
                    misses.append(identity)
            sites = dict(self._sites) if use else {}
        session.info[CACHE_BATCH] = batch
        prefetched = session.info.setdefault(PREFETCHED, {})
        open_txs = session.info.setdefault(PREFETCHED_OPEN, {})
        stale_sites: dict[int, Site] = {}
        for entry in hits:
            cp = entry.cp
            session.add(cp)  # re-attach: cascades to its site and connectors
            for tx in entry.transactions:
                session.add(tx)
            prefetched[cp.identity] = cp
            batch.cps[cp.identity] = cp
            batch.ids.add(cp.id)
            batch.loaded_at[cp.identity] = entry.loaded_at
            txs = batch.transactions[cp.id] = list(entry.transactions)
            open_txs[cp.id] = [(tx.connector_id, tx.id) for tx in txs]
            cached_site = sites.get(entry.site_id)
            if cached_site is None or now - cached_site[1] >= self.max_age:
                stale_sites[entry.site_id] = cp.site
        self.hits += len(hits)
        if misses:
            self.misses += len(misses)
            self._load(session, batch, misses, sites, stale_sites, now)
        for site in stale_sites.values():  # older than the maximum age: read again, in place
            session.refresh(site)
            batch.new_sites[site.id] = site

    def _load(self, session: Session, batch: Batch, identities: list[str], sites: dict[int, tuple[Site, float]],
              stale_sites: dict[int, Site], now: float) -> None:
        cps = session.scalars(select(ChargePoint).where(ChargePoint.identity.in_(identities))
                              .options(selectinload(ChargePoint.connectors))).all()
        if not cps:
            return
        wanted: set[int] = set()
        for cp in cps:
            cached = sites.get(cp.site_id)
            if cached is not None:
                session.add(cached[0])  # the one Site object all cached chargers of this site share
                if now - cached[1] >= self.max_age:
                    stale_sites[cp.site_id] = cached[0]
            else:
                wanted.add(cp.site_id)
        if wanted:
            for site in session.scalars(select(Site).where(Site.id.in_(wanted))):
                batch.new_sites[site.id] = site
        prefetched = session.info[PREFETCHED]
        open_txs = session.info[PREFETCHED_OPEN]
        for cp in cps:
            cp.site  # from the identity map: no query  # noqa: B018
            prefetched[cp.identity] = cp
            batch.cps[cp.identity] = cp
            batch.ids.add(cp.id)
            batch.loaded_at[cp.identity] = now
            batch.transactions[cp.id] = []
            open_txs[cp.id] = []
        by_id = {cp.id: cp for cp in cps}
        for tx in session.scalars(select(Transaction).where(
                Transaction.charge_point_id.in_(list(by_id)), Transaction.status == "active")
                .order_by(Transaction.started_at)):
            batch.transactions[tx.charge_point_id].append(tx)
            open_txs[tx.charge_point_id].append((tx.connector_id, tx.id))

    def close_batch(self, session: Session, committed: bool) -> None:
        """After the batch: keep what it committed (before its session closes), or clear everything."""
        batch = session.info.pop(CACHE_BATCH, None)
        try:
            if committed and batch is not None:
                self._keep(session, batch)
            elif batch is not None:
                self.clear()
        except Exception:
            log.exception("charger cache: keeping a batch's state failed; cleared")
            self.clear()
        finally:
            with self._lock:
                if self._batch is batch:
                    self._batch = None

    def _keep(self, session: Session, batch: Batch) -> None:
        for obj in batch.inserted:
            _loaded_nulls(obj)
        kept: list[Entry] = []
        unkept: list[str] = []
        trim: list[Any] = []
        for site in batch.new_sites.values():
            if not _usable(site):
                batch.dropped_sites.add(site.id)
        for identity, cp in batch.cps.items():
            if cp.id in batch.dropped or cp.site_id in batch.dropped_sites or not _usable(cp) \
                    or any(not _usable(c) for c in cp.connectors):
                unkept.append(identity)
                continue
            txs = tuple(tx for tx in batch.transactions.get(cp.id, ()) if tx.status == "active")
            if any(not _usable(tx) for tx in txs):
                unkept.append(identity)
                continue
            kept.append(Entry(cp, txs, cp.site_id, batch.loaded_at[identity]))
            trim.append(cp)
            trim.extend(cp.connectors)
            trim.extend(txs)
        for site in batch.new_sites.values():
            trim.append(site)
        for obj in trim:
            loaded = [key for key in RELATIONSHIPS[type(obj)] if key in obj.__dict__]
            if loaded:
                session.expire(obj, loaded)
        now = time.monotonic()
        with self._lock:
            for identity in unkept:  # what the cache held before this batch is outdated now
                entry = self._entries.pop(identity, None)
                if entry is not None:
                    self._identity_by_id.pop(entry.cp.id, None)
            if batch.generation != self._generation or not self.enabled:
                return  # cleared while the batch ran
            for site_id, site in batch.new_sites.items():
                if site_id not in batch.dropped_sites:
                    self._sites[site_id] = (site, now)
            for entry in kept:
                if entry.cp.id in batch.dropped or entry.site_id in batch.dropped_sites \
                        or entry.site_id not in self._sites:
                    continue
                self._entries[entry.cp.identity] = entry
                self._identity_by_id[entry.cp.id] = entry.cp.identity


@event.listens_for(Session, "pending_to_persistent")
def _note_inserted(session: Session, obj: Any) -> None:
    batch = session.info.get(CACHE_BATCH)
    if batch is not None:
        batch.inserted.append(obj)


def _loaded_nulls(obj: Any) -> None:
    """A row this batch inserted: a column the INSERT left out and the database has no default for is
    NULL. The ORM leaves it unloaded (it would query to read it); say so, so the object can be kept."""
    state = inspect(obj)
    if not state.persistent or type(obj) not in COLUMNS:
        return
    for key in COLUMNS[type(obj)] - obj.__dict__.keys():
        column = state.mapper.columns[key]
        if column.server_default is None and column.server_onupdate is None and column.default is None:
            set_committed_value(obj, key, None)


def _usable(obj: Any) -> bool:
    """Persistent, with every column loaded (nothing the next batch would have to query for)."""
    state = inspect(obj)
    return state.persistent and not state.expired and obj.__dict__.keys() >= COLUMNS[type(obj)]


# --- the node's side of the change channel ---------------------------------------------------------

class NodeAnnouncer(ChangeAnnouncer):
    """The node's own commits: its cache learns first (in the writer thread), then the other nodes, by a
    publish from the event loop (the answers do not wait for Redis)."""

    def __init__(self, node: "Node", cache: ChargerCache) -> None:
        super().__init__(node.redis_url, origin=node.node_id)
        self.node = node
        self.cache = cache
        self.loop: asyncio.AbstractEventLoop | None = None

    def announce(self, found: Changes) -> None:
        self.cache.written(found)
        message = found.message(self.origin)
        if message is None:
            return
        loop = self.loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._publish_soon, message)
                return
            except RuntimeError:  # the loop closed meanwhile
                pass
        super().announce(found)

    def _publish_soon(self, message: str) -> None:
        self.node.spawn(self._publish(message), name="ocpp-announce")

    async def _publish(self, message: str) -> None:
        try:
            await self.node.redis.publish(CHANGES_CHANNEL, message)
            self.published += 1
        except Exception as exc:
            self.lost += 1
            log.warning("charger changes not announced (Redis: %s); other nodes see them within their cache age", exc)


async def listen(node: "Node", cache: ChargerCache, retry_s: float = 1.0) -> None:
    """Drop what other processes changed. The cache is on only while subscribed, and cleared on every
    (re)subscription: what was published while we were away is lost."""
    while True:
        # No silent reconnects: a lost connection must turn the cache off (redis-py would otherwise
        # reconnect and resubscribe inside get_message, hiding the gap).
        client = Redis.from_url(node.redis_url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=2,
                                health_check_interval=0)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(CHANGES_CHANNEL)
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    cache.clear()
                    cache.enabled = True
                    log.info("charger cache on (subscribed to %s)", CHANGES_CHANNEL)
                elif message["type"] == "message":
                    _apply(node, cache, message["data"])
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if cache.enabled:
                log.warning("charger cache off: change channel lost (%s); retrying", exc)
        finally:
            cache.enabled = False
            cache.clear()
            try:
                await pubsub.aclose()
                await client.aclose()
            except Exception:
                pass
        await asyncio.sleep(retry_s)


def _apply(node: "Node", cache: ChargerCache, data: Any) -> None:
    try:
        change = json.loads(data)
        if change.get("origin") == node.node_id:
            return  # our own commit: the writer already told the cache
        cache.drop(charge_points=[int(i) for i in change.get("cp", ())],
                   sites=[int(i) for i in change.get("site", ())], everything=bool(change.get("all")))
    except (ValueError, TypeError, AttributeError):
        log.warning("unreadable charger change message %r: cache cleared", data[:200] if data else data)
        cache.clear()
