"""What a charger tells the central system, persisted: one function per OCPP 1.6 message.

Flask-free; every function takes a Session, flushes but never commits (the OCPP handler
commits once per message). Times are aware UTC datetimes parsed by the caller.

  common         time parsing, the charge point lookup, outcomes shared by the handlers
  charger        connection, boot, heartbeat, connector status
  transactions   Authorize, StartTransaction, StopTransaction
  closing        closing and billing a session, automatic closures, stops nobody can match
  meter_values   MeterValues and a stop's transactionData
"""
from portal.services.ocpp_ingest.charger import (  # noqa: F401
    boot, boot_decision, connected, credentials, disconnected, heartbeat, missed_heartbeats, node_stopped,
    status_notification,
)
from portal.services.ocpp_ingest.closing import ABANDONED  # noqa: F401
from portal.services.ocpp_ingest.common import (  # noqa: F401
    RETRY_INTERVAL_S, TAG_STATUS, BootOutcome, ChargerTime, ConnectInfo, StartOutcome, StatusOutcome,
    UnknownChargePoint, actions_hook, charge_point, charger_time, format_time, parse_time,
)
from portal.services.ocpp_ingest.meter_values import meter_values  # noqa: F401
from portal.services.ocpp_ingest.transactions import (  # noqa: F401
    authorize, start_key, start_transaction, stop_key, stop_transaction, tag_status,
)
