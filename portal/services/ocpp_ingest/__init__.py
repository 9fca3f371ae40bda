"""What a charger tells the central system, persisted: one function per OCPP 1.6 message.

Flask-free; every function takes a Session and never commits: the node's group commit
(ocpp_server.writer) runs many messages in one transaction and commits once. The functions on the
hot path (connect, boot, status, meter values) do not flush either: the COMMIT flushes a whole batch,
so the unit of work sends one executemany per kind of change instead of a round trip per message,
and meter samples go out in one bulk INSERT (write_pending, run before COMMIT). Times are aware UTC
datetimes parsed by the caller.

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
    RETRY_INTERVAL_S, TAG_STATUS, BootOutcome, ChargerTime, ConnectInfo, StartOutcome, StatusOutcome,
    UnknownChargePoint, actions_hook, charge_point, charger_time, format_time, open_transaction, open_transactions,
    parse_time, prefetch, transaction_opened,
)
from portal.services.ocpp_ingest.meter_values import meter_values, write_pending  # noqa: F401
from portal.services.ocpp_ingest.transactions import (  # noqa: F401
    authorize, start_key, start_transaction, stop_key, stop_transaction, tag_status,
)

# The functions whose first argument (after the session) is a charger's identity: a group commit loads
# (or takes from the node's cache) those chargers before it runs them.
PER_CHARGER = frozenset({
    connected, disconnected, boot, heartbeat, status_notification, authorize, start_transaction,
    stop_transaction, meter_values,
})
