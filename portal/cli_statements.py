"""Operations commands for the billing ledger: flask --app portal statements credit|show."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from portal.services.people.plain_reasons import CREDIT_NOTE as CREDIT_NOTE_REASONS

statements_group = AppGroup("statements", help="Statements and credit notes.")

MESSAGES = {
    "not_a_statement": "a credit note cannot itself be credited",
    "no_reason": "give the reason for the correction (--reason)",
    "no_resident_reason": "choose what the resident reads (--resident-reason)",
    "nothing_to_credit": "nothing left to credit: the chosen lines are credited already or not on this statement",
}


def _operator():
    from portal.services.billing.ledger import Operator

    return Operator(current_app.config["OPERATOR_NAME"], current_app.config["OPERATOR_ORG_NUMBER"])


@statements_group.command("show")
@click.argument("number")
def show(number: str) -> None:
    """List a document's lines (their ids are what `credit --line` takes)."""
    from portal.models import Statement

    with current_app.extensions["portal_db"].session() as session:
        st = session.scalar(select(Statement).where(Statement.number == number))
        if st is None:
            raise click.ClickException(f"no document numbered {number!r}")
        click.echo(f"{st.number} {st.kind} {st.year:04d}-{st.month:02d} {st.site_name} / {st.billed_name}: "
                   f"{st.total_minor} ({st.currency} minor units)")
        for ln in st.lines:
            click.echo(f"  line {ln.id}: {ln.kind} {ln.description} {ln.amount_minor}")


@statements_group.command("credit")
@click.argument("number")
@click.option("--reason", required=True,
              help="Why the statement is corrected, in your words (staff only: the audit log, never the resident).")
@click.option("--resident-reason", required=True, type=click.Choice(sorted(CREDIT_NOTE_REASONS)),
              help="What the resident reads on the credit note and in its e-mail, in their language.")
@click.option("--by", "actor_email", required=True, help="E-mail of the operator admin issuing the credit note.")
@click.option("--line", "line_ids", type=int, multiple=True, help="Credit only this line (repeatable); default all.")
@click.option("--rebill", is_flag=True, help="Bill the credited sessions again at their current figures.")
def credit(number: str, reason: str, resident_reason: str, actor_email: str, line_ids: tuple[int, ...],
           rebill: bool) -> None:
    """Issue a credit note for statement NUMBER (whole or chosen lines) and e-mail it to the resident."""
    from portal.models import Statement, User
    from portal.services.people import notify
    from portal.services.billing.credit_notes import CreditNoteError, credit as issue_credit

    with current_app.extensions["portal_db"].session() as session:
        actor = session.scalar(select(User).where(User.email == actor_email.strip().lower()))
        if actor is None or actor.staff_role != "admin":
            raise click.ClickException("--by must be an operator admin's e-mail")
        st = session.scalar(select(Statement).where(Statement.number == number))
        if st is None:
            raise click.ClickException(f"no document numbered {number!r}")
        try:
            done = issue_credit(session, actor, st, reason, _operator(), list(line_ids) or None, rebill,
                                resident_reason=resident_reason)
        except CreditNoteError as exc:
            raise click.ClickException(MESSAGES[str(exc)]) from None
        mails = [m.id for m in (notify.statement_email(session, d) for d in (done.credit_note, done.rebilled)
                                if d is not None and d.user is not None) if m is not None]
        session.commit()
    from redis import Redis

    from portal.services.people.mail import enqueue_outbox

    enqueue_outbox(Redis.from_url(current_app.config["REDIS_URL"]), mails)
    click.echo(f"credit note {done.credit_note.number}: {done.credit_note.total_minor}"
               + (f"; re-billed on {done.rebilled.number}" if done.rebilled else ""))
