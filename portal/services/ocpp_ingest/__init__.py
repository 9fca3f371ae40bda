"""What a charger tells the central system, persisted: one function per OCPP 1.6 message.

Flask-free; every function takes a Session and never commits: the node's group commit
(ocpp_server.writer) runs many messages in one transaction and commits once. The functions on the
hot path (connect, boot, status, meter values) do not flush either: the COMMIT flushes a whole batch,
so the unit of work sends one executemany per kind of change instead of a round trip per message.
The per-charger functions (PER_CHARGER) take `batch=` (common.MessageBatch, the node's
ocpp_server.batch.WriteBatch): the chargers the batch holds, their open transactions, and the meter
samples the batch inserts in one bulk INSERT before its COMMIT. Without a batch they look everything up
and insert samples at once. Times are aware UTC datetimes parsed by the caller.

  common         time parsing, the charge point lookup, outcomes shared by the handlers
  charger        connection, boot, heartbeat, connector status
  transactions   Authorize, StartTransaction, StopTransaction
  closing        closing and billing a session, automatic closures, stops nobody can match
  meter_values   MeterValues and a stop's transactionData
"""
from portal.services.ocpp_ingest.charger import (  # noqa: F401
    boot, boot_decision, connected, credentials, credentials_many, disconnected, heartbeat, mark_seen,
    missed_heartbeats, node_stopped, status_notification,
)
from portal.services.ocpp_ingest.closing import ABANDONED  # noqa: F401
from portal.services.ocpp_ingest.common import (  # noqa: F401
    RETRY_INTERVAL_S, TAG_STATUS, BootOutcome, ChargerTime, ConnectInfo, MessageBatch, StartOutcome,
    StatusOutcome, UnknownChargePoint, charge_point, charger_time, format_time, open_transaction, open_transactions,
    parse_time, transaction_opened,
)
from portal.services.ocpp_ingest.meter_values import insert_meter_rows, meter_values  # noqa: F401
from portal.services.ocpp_ingest.transactions import (  # noqa: F401
    authorize, start_key, start_transaction, stop_key, stop_transaction, tag_status,
)

# The per-charger messages: fn(session, identity, ..., batch=None). The node submits them naming the charger
# (GroupWriter.submit_for), so the group commit loads (or takes from its cache) that charger first.
PER_CHARGER = frozenset({
    connected, disconnected, boot, heartbeat, status_notification, authorize, start_transaction,
    stop_transaction, meter_values,
})
