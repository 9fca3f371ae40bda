"""Issue 18 part 3: every session billed once, whenever it ends (moved clock, both engines)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from portal.models import StatementLine, Transaction
from portal.services import statements
from tests.factories import make_charge_point, make_site, make_user

UTC = timezone.utc
OPERATOR = statements.Operator("Ladeportalen AS", "923 609 016")


def _tx(session, cp, user, start: datetime, stop: datetime | None, wh: int = 10_000, cost: int = 3200,
        vat: int = 640) -> Transaction:
    tx = Transaction(charge_point_id=cp.id, connector_id=1, id_tag="T", user_id=user.id if user else None,
                     status="completed" if stop else "active", start_key=f"k-{cp.id}-{start.isoformat()}",
                     meter_start_wh=1, meter_stop_wh=1 + wh if stop else None, started_at=start, stopped_at=stop,
                     energy_wh=wh if stop else 0, cost_minor=cost if stop else None,
                     vat_minor=vat if stop else None, energy_fee="3.2000")
    session.add(tx)
    session.flush()
    return tx


def _stop(tx: Transaction, at: datetime, wh: int = 10_000, cost: int = 3200, vat: int = 640) -> None:
    tx.status, tx.stopped_at, tx.meter_stop_wh = "completed", at, tx.meter_start_wh + wh
    tx.energy_wh, tx.cost_minor, tx.vat_minor = wh, cost, vat


def _lines_of(session, tx: Transaction) -> list[StatementLine]:
    return list(session.scalars(select(StatementLine).where(StatementLine.transaction_id == tx.id)))


def test_a_session_across_the_months_midnight_is_billed_once_after_it_ends(session):
    site = make_site(session, "eik")
    ada = make_user(session, "ada@eik.test", site=site, name="Ada")
    cp = make_charge_point(session, site, "CP-EIK-1")
    _tx(session, cp, ada, datetime(2026, 11, 10, 18, tzinfo=UTC), datetime(2026, 11, 10, 20, tzinfo=UTC))
    # 22:00 on 30 November in Oslo, still charging when November's statements are issued at 02:15.
    late = _tx(session, cp, ada, datetime(2026, 11, 30, 21, tzinfo=UTC), None)
    session.commit()
    statements.issue(session, site, 2026, 11, OPERATOR)
    session.commit()
    _stop(late, datetime(2026, 12, 1, 5, tzinfo=UTC))  # 06:00 on the 1st
    session.commit()
    # Later runs: November again (the daily pick-up) and December at the next cut.
    statements.issue(session, site, 2026, 11, OPERATOR)
    statements.issue(session, site, 2026, 12, OPERATOR)
    session.commit()
    assert len(_lines_of(session, late)) == 1
