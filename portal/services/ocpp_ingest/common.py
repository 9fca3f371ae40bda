"""What every OCPP message handler shares: time parsing, the charge point lookup, "last seen", outcomes,
and the batch a node's group commit hands the handlers (MessageBatch)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

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
    jobs: Any  # what portal.services.charging.action_hooks.on_connector_status returned, to enqueue after commit
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


class MessageBatch(Protocol):
    """What an OCPP node's group commit hands the message functions (ocpp_server.batch.WriteBatch): the
    chargers it already holds, their open transactions, and the meter rows it inserts before its COMMIT.

    Passed explicitly as `batch=`; without one (a test, a one-off call) every lookup asks the database
    and meter rows are inserted at once."""

    meter_rows: dict[str, dict]  # rows to insert before COMMIT, by sample key

    def charge_point(self, identity: str) -> ChargePoint | None: ...

    def open_transactions(self, charge_point_id: int) -> list[tuple[int, int]] | None: ...

    def transaction_opened(self, tx: Transaction) -> None: ...

    def write_meter_rows(self, session: Session) -> int: ...


def charge_point(session: Session, identity: str, batch: MessageBatch | None = None) -> ChargePoint:
    cp = batch.charge_point(identity) if batch is not None else None
    if cp is None:
        cp = session.scalar(select(ChargePoint).where(ChargePoint.identity == identity))
    if cp is None:
        raise UnknownChargePoint(identity)
    return cp


def open_transactions(session: Session, cp: ChargePoint,
                      batch: MessageBatch | None = None) -> tuple[tuple[int, int], ...]:
    """(connector id, transaction id) of the charge point's active transactions, oldest first."""
    known = batch.open_transactions(cp.id) if batch is not None else None
    if known is not None:
        return tuple(known)
    return tuple((c, t) for c, t in session.execute(select(Transaction.connector_id, Transaction.id).where(
        Transaction.charge_point_id == cp.id, Transaction.status == "active").order_by(Transaction.started_at)))


def open_transaction(batch: MessageBatch | None, charge_point_id: int, connector_id: int) -> tuple[bool, int | None]:
    """(known, id of the connector's newest active transaction) from what the batch loaded for the
    charger; known is False when the batch did not load the charger (then ask the database)."""
    known = batch.open_transactions(charge_point_id) if batch is not None else None
    if known is None:
        return False, None
    return True, next((tx_id for connector, tx_id in reversed(known) if connector == connector_id), None)


def transaction_opened(batch: MessageBatch | None, tx: Transaction) -> None:
    """A transaction this batch opened joins its charger's open transactions (and the node's cache)."""
    if batch is not None:
        batch.transaction_opened(tx)


def seen(cp: ChargePoint, now: datetime) -> None:
    cp.last_seen_at = now
    if not cp.online:
        cp.online = True
        cp.offline_since = None
