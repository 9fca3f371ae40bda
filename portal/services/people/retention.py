"""Personal data kept only as long as needed (run daily by worker.jobs.message_log.purge_message_log).

RFID card ids: a session keeps the id of the card that started it for RFID_RETENTION_DAYS after it ended
(long enough to settle a disputed statement), then only the account it was billed to remains. A stop for
an unknown transaction (kept for support) loses its card id after the same time. The OCPP message log,
which holds every frame with its idTag, is deleted after OCPP_LOG_RETENTION_DAYS (ocpp_server.msglog).

Statements and credit notes are bookkeeping records and are kept when an account is deleted; the name
and e-mail they were issued to are replaced by a pseudonym ("Deleted user #N").
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.db import ANNOUNCED, utcnow
from portal.models import OrphanStop, Payment, Statement, Transaction
from portal.services.billing.ledger import pseudonym

FORGOTTEN_TAG = ""


def forget_old_id_tags(session: Session, retention_days: int, now: datetime | None = None) -> int:
    """Blank card ids of sessions and orphan stops older than the retention; flush only. Returns how many."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    result = session.execute(
        update(Transaction)
        .where(Transaction.status != "active", Transaction.stopped_at < cutoff, Transaction.id_tag != FORGOTTEN_TAG)
        .values(id_tag=FORGOTTEN_TAG)
        .execution_options(**ANNOUNCED))  # finished sessions only: no node caches them
    count = result.rowcount or 0
    for stop in session.scalars(select(OrphanStop).where(OrphanStop.received_at < cutoff,
                                                         OrphanStop.id_tag.is_not(None))):
        stop.id_tag = None
        stop.payload = {k: v for k, v in (stop.payload or {}).items() if k != "idTag"}
        count += 1
    session.flush()
    return count


def pseudonymise_documents(session: Session, user_id: int) -> int:
    """Replace the person on the user's statements and credit notes by a pseudonym; flush only."""
    result = session.execute(update(Statement).where(Statement.user_id == user_id)
                             .values(billed_name=pseudonym(user_id), billed_email="")
                             .execution_options(**ANNOUNCED, synchronize_session="fetch"))
    theirs = select(Statement.id).where(Statement.user_id == user_id).scalar_subquery()
    # The payer's name and free text on the payments of those documents, as the bank wrote them.
    session.execute(update(Payment).where(Payment.statement_id.in_(theirs) | Payment.suggested_id.in_(theirs))
                    .values(debtor_name=pseudonym(user_id), message="")
                    .execution_options(**ANNOUNCED, synchronize_session="fetch"))
    return result.rowcount or 0
