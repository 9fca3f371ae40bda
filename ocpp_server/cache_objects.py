"""What the charger cache (ocpp_server.cache) checks and trims on the ORM objects it keeps."""
from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from portal.models import ChargePoint, Connector, Site, Transaction


def _columns(cls: type) -> frozenset[str]:
    return frozenset(attr.key for attr in inspect(cls).column_attrs)


# Relationships a cached object keeps loaded; any other loaded relationship is expired before the batch's
# session closes (read fresh next time, as without a cache).
KEPT = {ChargePoint: frozenset({"site", "connectors"}), Connector: frozenset({"charge_point"}),
        Site: frozenset(), Transaction: frozenset()}
COLUMNS = {cls: _columns(cls) for cls in KEPT}
RELATIONSHIPS = {cls: tuple(rel.key for rel in inspect(cls).relationships if rel.key not in KEPT[cls])
                 for cls in KEPT}


def expunge(session: Session, obj: Any) -> None:
    if obj in session:
        session.expunge(obj)


def expunge_entry(session: Session, entry: Any) -> None:
    expunge(session, entry.cp)  # cascades to its connectors
    for tx in entry.transactions:
        expunge(session, tx)


def trim(session: Session, obj: Any) -> None:
    """Expire relationships a cached object does not keep (what they pointed to is expunged)."""
    loaded = [key for key in RELATIONSHIPS[type(obj)] if key in obj.__dict__]
    if loaded:
        session.expire(obj, loaded)


def loaded_nulls(obj: Any) -> None:
    """A row this batch inserted: a column the INSERT left out and the database has no default for is
    NULL. The ORM leaves it unloaded (it would query to read it); say so, so the object can be kept."""
    state = inspect(obj)
    if not state.persistent or type(obj) not in COLUMNS:
        return
    for key in COLUMNS[type(obj)] - obj.__dict__.keys():
        column = state.mapper.columns[key]
        if column.server_default is None and column.server_onupdate is None and column.default is None:
            set_committed_value(obj, key, None)


def usable(obj: Any) -> bool:
    """Persistent, with every column loaded (nothing the next batch would have to query for)."""
    state = inspect(obj)
    return state.persistent and not state.expired and obj.__dict__.keys() >= COLUMNS[type(obj)]


def charger_usable(cp: ChargePoint, transactions: tuple[Transaction, ...]) -> bool:
    """The charger, its connectors and its open transactions all usable."""
    return usable(cp) and all(usable(c) for c in cp.connectors) and all(usable(tx) for tx in transactions)
