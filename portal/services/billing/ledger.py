"""Numbers and documents of the billing ledger: statements, supplementary statements and credit notes.

One running sequence per operator (its org. number) numbers every document, statements and credit notes
alike: ``F-00000042``. The number is taken inside the issuing transaction by one conditional UPDATE of
the operator's counter row (``UPDATE ... SET last_number = last_number + 1 ... RETURNING``). The row stays
locked until the transaction ends (PostgreSQL: a row lock; SQLite: the database's write lock), so two
runs never take the same number, and a run that fails rolls its numbers back with everything else: no
gaps. Documents are never edited once issued. Functions flush, never commit.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from portal.db import ANNOUNCED
from portal.models import DocumentSequence, Statement, StatementLine

NUMBER_FORMAT = "F-{:08d}"


@dataclass(frozen=True)
class Operator:
    name: str
    org_number: str


def next_number(session: Session, operator: Operator) -> int:
    """The operator's next document number; the counter row stays locked until the transaction ends."""
    table = DocumentSequence.__table__
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(table).values(operator=operator.org_number, last_number=0)
                    .on_conflict_do_nothing().execution_options(**ANNOUNCED))
    return session.execute(
        update(table).where(table.c.operator == operator.org_number)
        .values(last_number=table.c.last_number + 1).returning(table.c.last_number)
        .execution_options(**ANNOUNCED)).scalar_one()


def new_document(session: Session, operator: Operator, lines: list[StatementLine], **header) -> Statement:
    """Number and add one document (header: kind, site, person snapshot, month...); totals from its lines."""
    seq = next_number(session, operator)
    doc = Statement(number=NUMBER_FORMAT.format(seq), sequence_no=seq, operator_name=operator.name,
                    operator_org_number=operator.org_number, total_minor=sum(ln.amount_minor for ln in lines),
                    vat_minor=sum(ln.vat_minor for ln in lines), **header)
    for position, line in enumerate(lines):
        line.position = position
    doc.lines = lines
    session.add(doc)
    session.flush()
    from portal.services.payments.states import on_new_document

    on_new_document(session, doc)  # its payment reference and due date; a credit note lowers what is due
    return doc


def pseudonym(user_id: int) -> str:
    """What a deleted account's documents say instead of the person's name (English: stored, not shown
    translated, like every other snapshot on an issued document)."""
    return f"Deleted user #{user_id}"
