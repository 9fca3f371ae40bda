"""What every OCPP message handler shares: time parsing, the charge point lookup, "last seen", outcomes."""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from portal.models import ChargePoint, Transaction

log = logging.getLogger(__name__)

# access.REASONS -> OCPP idTagInfo.status
TAG_STATUS = {"ok": "Accepted", "blocked_tag": "Blocked"}
RETRY_INTERVAL_S = 60  # Pending/Rejected chargers retry their boot after this long
# A charger clock this far ahead of ours is wrong, not early.
CLOCK_AHEAD_LIMIT = timedelta(minutes=5)


class UnknownChargePoint(LookupError):
    """The identity is not registered (it should have been refused at the door)."""


@dataclass(frozen=True)
class ConnectInfo:
    identity: str
    enabled: bool
    relaxed_validation: bool
    boot_status: str | None
    heartbeat_interval: int
    charge_point_id: int = 0
    open_transactions: tuple[tuple[int, int], ...] = ()  # (connector id, transaction id) still active


@dataclass(frozen=True)
class BootOutcome:
    status: str  # Accepted | Pending | Rejected
    interval: int
    enabled: bool


@dataclass(frozen=True)
class StatusOutcome:
    enabled: bool
    jobs: Any  # what portal.services.actions.on_connector_status returned, to enqueue after commit
    at: datetime | None = None  # the report's time as ordered (the connection remembers the newest)


@dataclass(frozen=True)
class StartOutcome:
    transaction_id: int
    status: str  # idTagInfo.status
    duplicate: bool


def parse_time(text: str) -> datetime:
    """An OCPP dateTime as aware UTC; a missing offset is read as UTC. Raises ValueError."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


@dataclass(frozen=True)
class ChargerTime:
    """The time we use for a charger's timestamp, and whether its own clock had to be replaced."""

    at: datetime
    replaced: bool


def charger_time(cp: ChargePoint, claimed: datetime | None, now: datetime,
                 earliest: datetime | None = None) -> ChargerTime:
    """The charger's time if it is believable, else the time we received the message.

    Unbelievable: unreadable (None), more than CLOCK_AHEAD_LIMIT in the future, or before
    `earliest` (by default the charger's last boot, less the same limit for clock skew).
    Replacements are counted on the charger."""
    floor = earliest if earliest is not None else (cp.booted_at - CLOCK_AHEAD_LIMIT if cp.booted_at else None)
    if claimed is not None and claimed <= now + CLOCK_AHEAD_LIMIT and (floor is None or claimed >= floor):
        return ChargerTime(claimed, False)
    cp.clock_corrections = (cp.clock_corrections or 0) + 1
    log.warning("%s: charger time %s replaced by the receive time %s", cp.identity,
                claimed.isoformat() if claimed else "(unreadable)", now.isoformat())
    return ChargerTime(now, True)


def format_time(moment: datetime) -> str:
    """UTC with an explicit offset, as sent to chargers."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


PREFETCHED = "ocpp_prefetched_charge_points"
PREFETCHED_OPEN = "ocpp_prefetched_open_transactions"
CACHE_BATCH = "ocpp_cache_batch"  # the node's charger cache, for this batch (ocpp_server.cache.Batch)


def charge_point(session: Session, identity: str) -> ChargePoint:
    cp = session.info.get(PREFETCHED, {}).get(identity)
    if cp is None:
        cp = session.scalar(select(ChargePoint).where(ChargePoint.identity == identity))
    if cp is None:
        raise UnknownChargePoint(identity)
    return cp


def prefetch(session: Session, identities: set[str]) -> None:
    """Load the charge points (with site and connectors) and their open transactions that a group
    commit's messages are about, in three queries for the whole batch instead of two or three per
    message; charge_point() and open_transactions() then find them here."""
    if not identities:
        return
    cps = session.scalars(select(ChargePoint).where(ChargePoint.identity.in_(identities))
                          .options(joinedload(ChargePoint.site), selectinload(ChargePoint.connectors))).all()
    session.info.setdefault(PREFETCHED, {}).update({cp.identity: cp for cp in cps})
    open_txs = session.info.setdefault(PREFETCHED_OPEN, {})
    for cp in cps:
        open_txs.setdefault(cp.id, [])
    if cps:
        for cp_id, connector, tx_id in session.execute(
                select(Transaction.charge_point_id, Transaction.connector_id, Transaction.id)
                .where(Transaction.charge_point_id.in_([cp.id for cp in cps]), Transaction.status == "active")
                .order_by(Transaction.started_at)):
            open_txs[cp_id].append((connector, tx_id))


def open_transactions(session: Session, cp: ChargePoint) -> tuple[tuple[int, int], ...]:
    """(connector id, transaction id) of the charge point's active transactions, oldest first."""
    known = session.info.get(PREFETCHED_OPEN, {}).get(cp.id)
    if known is not None:
        return tuple(known)
    return tuple((c, t) for c, t in session.execute(select(Transaction.connector_id, Transaction.id).where(
        Transaction.charge_point_id == cp.id, Transaction.status == "active").order_by(Transaction.started_at)))


def open_transaction(session: Session, charge_point_id: int, connector_id: int) -> tuple[bool, int | None]:
    """(known, id of the connector's newest active transaction) from what this batch loaded for the
    charger; known is False when the batch did not load the charger (then ask the database)."""
    known = session.info.get(PREFETCHED_OPEN, {}).get(charge_point_id)
    if known is None:
        return False, None
    return True, next((tx_id for connector, tx_id in reversed(known) if connector == connector_id), None)


def transaction_opened(session: Session, tx: Transaction) -> None:
    """A transaction this batch opened joins its charger's open transactions (and the node's cache)."""
    batch = session.info.get(CACHE_BATCH)
    if batch is not None and tx.charge_point_id in batch.ids:
        batch.transactions.setdefault(tx.charge_point_id, []).append(tx)
    known = session.info.get(PREFETCHED_OPEN, {}).get(tx.charge_point_id)
    if known is not None:
        known.append((tx.connector_id, tx.id))


def seen(cp: ChargePoint, now: datetime) -> None:
    cp.last_seen_at = now
    if not cp.online:
        cp.online = True
        cp.offline_since = None


def actions_hook(name: str) -> Callable[..., Any] | None:
    """A function of portal.services.actions if that module provides it (it is optional)."""
    try:
        module = importlib.import_module("portal.services.actions")
    except ImportError:
        return None
    return getattr(module, name, None)
