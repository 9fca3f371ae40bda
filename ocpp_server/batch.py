"""One group commit's context (ocpp_server.writer): what the node hands the message functions.

The writer makes a WriteBatch per transaction and passes it as `batch=` to the per-charger functions of
portal.services.ocpp_ingest (their common.MessageBatch): the chargers it holds (taken from the node's
cache or loaded for this batch), their open transactions, and the meter rows it inserts in one bulk
INSERT just before its COMMIT. The charger cache (ocpp_server.cache) fills the lookup part in `begin`
and reads its own bookkeeping part back in `end`; a batch without the cache holds no charger (every
lookup asks the database).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from portal.models import ChargePoint, Site, Transaction
from portal.services.ocpp_ingest import insert_meter_rows


@dataclass
class WriteBatch:
    # --- what the message functions use ---
    charge_points: dict[str, ChargePoint] = field(default_factory=dict)  # held by this batch, by identity
    transactions: dict[int, list[Transaction]] = field(default_factory=dict)  # open ones, by charge point id
    meter_rows: dict[str, dict] = field(default_factory=dict)  # inserted before COMMIT, by sample key
    # --- the charger cache's bookkeeping (ocpp_server.cache) ---
    generation: int = 0
    thread: int = 0
    ids: set[int] = field(default_factory=set)  # charge point ids held by this batch
    loaded_at: dict[str, float] = field(default_factory=dict)
    new_sites: dict[int, Site] = field(default_factory=dict)
    dropped: set[int] = field(default_factory=set)  # charge point ids changed elsewhere meanwhile
    dropped_sites: set[int] = field(default_factory=set)
    loaded: set[int] = field(default_factory=set)  # charge point ids this batch loaded (misses)
    written: set[int] = field(default_factory=set)  # charge point ids this batch wrote through held objects
    touched: list[Any] = field(default_factory=list)  # states of objects that entered the session in this batch
    inserted: list[Any] = field(default_factory=list)  # ... of rows this batch inserted (a Start, a new connector)

    def hold(self, cp: ChargePoint, transactions: list[Transaction], loaded_at: float) -> None:
        """The batch holds this charger: the functions find it (and its open transactions) without a query."""
        self.charge_points[cp.identity] = cp
        self.ids.add(cp.id)
        self.loaded_at[cp.identity] = loaded_at
        self.transactions[cp.id] = transactions

    def charge_point(self, identity: str) -> ChargePoint | None:
        return self.charge_points.get(identity)

    def open_transactions(self, charge_point_id: int) -> list[tuple[int, int]] | None:
        """(connector id, transaction id) of the open transactions, oldest first; None: not held."""
        txs = self.transactions.get(charge_point_id)
        return None if txs is None else [(tx.connector_id, tx.id) for tx in txs]

    def transaction_opened(self, tx: Transaction) -> None:
        txs = self.transactions.get(tx.charge_point_id)
        if txs is not None:
            txs.append(tx)

    def write_meter_rows(self, session: Session) -> int:
        """Insert the meter rows queued so far (the writer before COMMIT; a stop before it reads them)."""
        rows, self.meter_rows = self.meter_rows, {}
        return insert_meter_rows(session, list(rows.values()))
