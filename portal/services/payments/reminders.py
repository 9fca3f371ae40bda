"""Payment reminders for statements not paid by their due date: a first reminder some days after the due date,
a second one some days after the first (REMINDER_FIRST_DAYS, REMINDER_SECOND_DAYS), each by e-mail in the
resident's language. A reminder day that falls on a Saturday or Sunday moves to the Monday after (also across
a month's end). A promise to pay (noted by support) pauses reminders until its date.

A fee only as the law and the settings allow (portal/services/payments/terms.py): none by default; at most
the cap; for NOK only on a reminder sent at least 14 days after the due date; at most once per statement.
The daily job `worker.jobs.payments.send_payment_reminders` runs this; safe to run twice (one reminder per
statement and level, a unique row).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import OutboxEmail, Statement, StatementReminder
from portal.services.payments import states
from portal.services.payments.terms import FEE_AFTER_DAYS, PaymentTerms, formatted_account

OPEN_STATES = ("unpaid", "part_paid")


def next_working_day(day: date) -> date:
    """The day itself from Monday to Friday, else the Monday after."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def reminder_day(due_on: date, level: int, terms: PaymentTerms, first_sent_on: date | None = None) -> date:
    """The day a reminder of this level is due: counted from the due date (1) or the first reminder (2)."""
    if level == 1:
        return next_working_day(due_on + timedelta(days=terms.first_reminder_days))
    return next_working_day((first_sent_on or due_on) + timedelta(days=terms.second_reminder_days))


def fee_for(st: Statement, sent_on: date, terms: PaymentTerms, fee_charged: bool) -> int:
    """The reminder's fee: the configured one (0 by default) when the law allows it on this reminder."""
    fee = terms.fee_minor.get(st.currency, 0)
    if fee <= 0 or fee_charged or st.due_on is None:
        return 0
    return fee if (sent_on - st.due_on).days >= FEE_AFTER_DAYS[st.currency] else 0


@dataclass(frozen=True)
class DueReminder:
    statement: Statement
    level: int


def due(session: Session, today: date, terms: PaymentTerms) -> list[DueReminder]:
    """The reminders to send today: open statements past their day, without a promise still running. None
    on a Saturday or Sunday (one missed on a working day goes out on the Monday)."""
    if today.weekday() >= 5:
        return []
    rows = session.scalars(select(Statement).where(
        Statement.paid_state.in_(OPEN_STATES), Statement.due_on < today, Statement.user_id.is_not(None),
        (Statement.promise_until.is_(None)) | (Statement.promise_until < today)).order_by(Statement.id))
    out = []
    for st in rows:
        sent = {r.level: r for r in session.scalars(select(StatementReminder)
                                                    .where(StatementReminder.statement_id == st.id))}
        level = len(sent) + 1
        if level > 2:
            continue
        first = sent[1].sent_on if 1 in sent else None
        if reminder_day(st.due_on, level, terms, first) <= today:
            out.append(DueReminder(st, level))
    return out


def send(session: Session, st: Statement, level: int, today: date, terms: PaymentTerms) -> OutboxEmail | None:
    """Record the reminder (with its fee) and queue its e-mail; flush only; needs an app context."""
    from portal.services.people.mail import portal_url, queue_templated_email

    charged = session.scalar(select(StatementReminder.id).where(StatementReminder.statement_id == st.id,
                                                                StatementReminder.fee_minor > 0)) is not None
    reminder = StatementReminder(statement_id=st.id, level=level, sent_on=today,
                                 fee_minor=fee_for(st, today, terms, charged))
    session.add(reminder)
    session.flush()
    states.refresh(session, st)
    user = st.user
    if user is None or not user.active:
        return None
    row = queue_templated_email(
        session, to=user.email, template="statement_reminder", language=user.language, kind="statement_reminder",
        st=st, level=level, name=user.display_name, fee_minor=reminder.fee_minor,
        left_minor=states.outstanding(session, st), account=formatted_account(st.pay_to_account, st.currency),
        statement_url=portal_url("resident.statement", statement_id=st.id))
    reminder.outbox_id = row.id
    session.flush()
    return row


def note_promise(session: Session, actor, st: Statement, until: date, note: str) -> None:
    """Support notes a promise to pay: reminders (and any charging stop) pause until that date; audited."""
    from portal.services.sites import audit

    before = {"promise_until": st.promise_until.isoformat() if st.promise_until else None}
    st.promise_until, st.promise_note = until, note.strip()[:2000]
    audit.record(session, actor, st.site_id, "statement", st.id, "promise_to_pay", before=before,
                 after={"promise_until": until.isoformat()}, area="staff", reason=note.strip()[:500] or None)
    session.flush()
