"""Notification e-mails, each of which the user can turn off on the account page.

- ``statement``: the monthly statement (worker/jobs/statements.py, on the 1st);
- ``session_done``: a session finished normally, with its receipt;
- ``session_stopped``: the charger ended a session by itself (fault, car full, power cut), in plain words;
- ``start_failed``: a remote start the charger never confirmed.

Session and start notifications are found by the periodic job ``worker.jobs.notify.send_notifications``
looking at recent sessions and requests, so nothing on the OCPP path has to wait for e-mail.
A Notification row per (kind, thing) makes it safe to run twice: nothing is ever sent twice,
and a notification the user had turned off is recorded as skipped. Functions flush, never commit;
they render in the recipient's language and need an app context.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import ActionRequest, Notification, OutboxEmail, Statement, Transaction, User
from portal.services.billing import receipts
from portal.services.people.mail import portal_url, queue_templated_email

KINDS = ("session_done", "session_stopped", "start_failed", "statement")
PREFERENCE = {kind: f"notify_{kind}" for kind in KINDS}
# Stop reasons (OCPP 1.6 StopTransaction.reason) that mean the resident did not stop it themselves.
# (Local/Remote: the resident stopped it; EVDisconnected: the cable was pulled, normally by them.)
CHARGER_STOP_REASONS = ("EmergencyStop", "HardReset", "Other", "PowerLoss", "Reboot", "SoftReset",
                        "UnlockCommand", "Abandoned")
# Only recent things are considered, so turning the job on never mails a backlog.
LOOKBACK = timedelta(days=2)


def wants(user: User | None, kind: str) -> bool:
    return user is not None and user.active and bool(getattr(user, PREFERENCE[kind]))


def _claim(session: Session, user: User | None, kind: str, ref_id: int) -> Notification | None:
    """Record that (kind, ref_id) is handled; None when it already was (by this or another run)."""
    if session.scalar(select(Notification.id).where(Notification.kind == kind, Notification.ref_id == ref_id)):
        return None
    note = Notification(user_id=user.id if user else None, kind=kind, ref_id=ref_id)
    try:
        with session.begin_nested():
            session.add(note)
            session.flush()
    except IntegrityError:
        return None
    return note


def statement_email(session: Session, st: Statement) -> OutboxEmail | None:
    """The statement by e-mail in the resident's language, unless they turned it off."""
    note = _claim(session, st.user, "statement", st.id)
    if note is None or not wants(st.user, "statement"):
        return None
    row = queue_templated_email(
        session, to=st.user.email, template="statement", language=st.user.language, kind="statement",
        st=st, name=st.user.display_name, month_date=date(st.year, st.month, 1),
        statement_url=portal_url("resident.statement", statement_id=st.id),
        account_url=portal_url("auth.account"))
    note.outbox_id, st.emailed_at = row.id, utcnow()
    session.flush()
    return row


def session_kind(tx: Transaction) -> str:
    """session_stopped when the charger ended it by itself, else session_done."""
    return "session_stopped" if (tx.stop_reason or "Local") in CHARGER_STOP_REASONS else "session_done"


def session_email(session: Session, tx: Transaction) -> OutboxEmail | None:
    """The receipt of a finished session, or what happened when the charger stopped it by itself."""
    if tx.user is None:
        return None
    kind = session_kind(tx)
    note = _claim(session, tx.user, kind, tx.id)
    if note is None or not wants(tx.user, kind):
        return None
    row = queue_templated_email(
        session, to=tx.user.email, template=kind, language=tx.user.language, kind=kind, tx=tx,
        price=receipts.receipt(session, tx).effective_price, name=tx.user.display_name, receipt_url=portal_url("resident.session_detail", tx_id=tx.id),
        account_url=portal_url("auth.account"))
    note.outbox_id = row.id
    session.flush()
    return row


def start_failed_email(session: Session, action: ActionRequest) -> OutboxEmail | None:
    """A remote start the charger accepted but never began, or never answered."""
    user = action.requested_by
    note = _claim(session, user, "start_failed", action.id)
    if note is None or not wants(user, "start_failed"):
        return None
    row = queue_templated_email(
        session, to=user.email, template="start_failed", language=user.language, kind="start_failed",
        action=action, name=user.display_name, state=action.state if not action.no_start_flag else "no_start",
        start_url=portal_url("resident.start_screen", identity=action.charge_point.identity),
        account_url=portal_url("auth.account"))
    note.outbox_id = row.id
    session.flush()
    return row


def _handled(session: Session, kinds: tuple[str, ...]):
    return select(Notification.ref_id).where(Notification.kind.in_(kinds))


def pending_sessions(session: Session, now: datetime | None = None) -> list[Transaction]:
    """Finished, billed sessions of the last days that have no notification yet."""
    since = (now or utcnow()) - LOOKBACK
    return list(session.scalars(
        select(Transaction).where(
            Transaction.status == "completed", Transaction.stopped_at >= since, Transaction.user_id.is_not(None),
            Transaction.cost_minor.is_not(None), Transaction.id.not_in(_handled(session, ("session_done",
                                                                                           "session_stopped"))))
        .order_by(Transaction.id).limit(500)))


def pending_failed_starts(session: Session, now: datetime | None = None) -> list[ActionRequest]:
    """Remote starts of the last days the charger never confirmed (no answer, or no session after accepting)."""
    since = (now or utcnow()) - LOOKBACK
    return list(session.scalars(
        select(ActionRequest).where(
            ActionRequest.action == "RemoteStartTransaction", ActionRequest.created_at >= since,
            ActionRequest.requested_by_id.is_not(None), ActionRequest.transaction_id.is_(None),
            (ActionRequest.no_start_flag.is_(True)) | (ActionRequest.state == "timed_out"),
            ActionRequest.id.not_in(_handled(session, ("start_failed",))))
        .order_by(ActionRequest.id).limit(500)))


def send_pending(session: Session, now: datetime | None = None) -> list[int]:
    """Queue every notification that is due; returns the outbox ids to hand to the mail queue after commit."""
    rows = [session_email(session, tx) for tx in pending_sessions(session, now)
            if not tx.refused_at_start]
    rows += [start_failed_email(session, a) for a in pending_failed_starts(session, now)]
    return [row.id for row in rows if row is not None]
