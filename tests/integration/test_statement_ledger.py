"""Issue 18 part 3: every session billed once, whenever it ends (moved clock, both engines)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.models import AuditEntry, Statement, StatementLine, Transaction, UserSubscription
from portal.services.billing import credit_notes, statements
from portal.services.people import accounts
from tests.factories import make_charge_point, make_plan, make_site, make_user

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


# --- the ledger invariants, checked after every scenario -------------------------------------

def _documents(session):
    return list(session.scalars(select(Statement).order_by(Statement.id)))


def _assert_ledger(session, site, year: int, month: int, txs: list[Transaction]) -> None:
    """Every session on exactly one document (net), numbers without gaps, the report equal to the documents."""
    for tx in txs:
        lines = _lines_of(session, tx)
        net = sum(-1 if ln.credits_line_id else 1 for ln in lines)
        assert net == 1, f"session {tx.id} is billed {net} times"
    numbers = sorted(d.sequence_no for d in _documents(session))
    assert numbers == list(range(1, len(numbers) + 1))
    assert len({d.number for d in _documents(session)}) == len(numbers)
    rows = statements.monthly_report(session, site, year, month)
    docs = statements.site_statements(session, site.id, year, month)
    assert sum(r.invoiced_minor for r in rows) == sum(d.total_minor for d in docs)
    assert sum(r.invoiced_vat_minor for r in rows) == sum(d.vat_minor for d in docs)
    assert sum(r.total_minor for r in rows if not r.guest) == sum(d.total_minor for d in docs if d.user_id)


@pytest.fixture
def eik(session):
    site = make_site(session, "eik", name="Eik borettslag")
    ada = make_user(session, "ada@eik.test", site=site, name="Ada")
    bo = make_user(session, "bo@eik.test", site=site, name="Bo")
    cp = make_charge_point(session, site, "CP-EIK-1", name="Garage 1")
    plan = make_plan(session, site, "Residents")
    plan.monthly_fee_minor = 30000
    session.add(UserSubscription(user_id=ada.id, plan_id=plan.id, started_at=datetime(2026, 9, 3, tzinfo=UTC)))
    session.commit()
    return site, ada, bo, cp


def _run(database_url, redis_url, at: datetime) -> dict[str, int]:
    from worker.jobs.statements import issue_monthly_statements

    return issue_monthly_statements(database_url, redis_url, now=at)


@pytest.fixture
def job_env(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "statement-ledger-test-key-" + "k" * 32)


def test_the_daily_job_bills_a_late_stop_transaction_on_a_supplementary_statement(
        session, db, database_url, redis_url, eik, job_env):
    site, ada, bo, cp = eik
    early = _tx(session, cp, ada, datetime(2026, 11, 10, 18, tzinfo=UTC), datetime(2026, 11, 10, 20, tzinfo=UTC))
    # The charger went offline during the session and its StopTransaction arrives days after the cut.
    offline = _tx(session, cp, bo, datetime(2026, 11, 29, 18, tzinfo=UTC), None)
    midnight = _tx(session, cp, ada, datetime(2026, 11, 30, 21, tzinfo=UTC), None)
    session.commit()
    assert _run(database_url, redis_url, datetime(2026, 12, 1, 1, 15, tzinfo=UTC)) == {"eik": 1}  # Ada's
    _stop(midnight, datetime(2026, 12, 1, 5, tzinfo=UTC), cost=2000, vat=400)
    session.commit()
    assert _run(database_url, redis_url, datetime(2026, 12, 2, 1, 15, tzinfo=UTC)) == {"eik": 1}  # Ada's supplement
    _stop(offline, datetime(2026, 11, 29, 23, tzinfo=UTC), cost=1500, vat=300)  # the charger's own stop time
    session.commit()
    assert _run(database_url, redis_url, datetime(2026, 12, 4, 1, 15, tzinfo=UTC)) == {"eik": 1}  # Bo's (regular)
    assert _run(database_url, redis_url, datetime(2026, 12, 5, 1, 15, tzinfo=UTC)) == {"eik": 0}  # nothing twice
    session.expire_all()
    docs = _documents(session)
    assert [(d.kind, d.billed_name, d.year, d.month) for d in docs] == [
        ("statement", "Ada", 2026, 11), ("supplementary", "Ada", 2026, 11), ("statement", "Bo", 2026, 11)]
    assert [ln.transaction_id for ln in docs[1].lines] == [midnight.id]
    assert [ln.kind for ln in docs[0].lines] == ["subscription", "session"]  # the fee once, on the regular one
    _assert_ledger(session, site, 2026, 11, [early, offline, midnight])
    # December's statements leave November's sessions alone.
    assert _run(database_url, redis_url, datetime(2027, 1, 1, 1, 15, tzinfo=UTC)) == {"eik": 1}  # Ada's fee
    session.expire_all()
    _assert_ledger(session, site, 2026, 11, [early, offline, midnight])
    assert statements.monthly_report(session, site, 2026, 12)[0].sessions == 0


def test_the_database_refuses_a_second_billing_of_a_session(session, eik):
    site, ada, bo, cp = eik
    tx = _tx(session, cp, ada, datetime(2026, 11, 10, 18, tzinfo=UTC), datetime(2026, 11, 10, 20, tzinfo=UTC))
    session.commit()
    first = statements.issue(session, site, 2026, 11, OPERATOR)[0]
    session.commit()
    session.add(Statement(number="X-1", kind="supplementary", site_id=site.id, user_id=ada.id, year=2026, month=11,
                          lines=[StatementLine(kind="session", transaction_id=tx.id, amount_minor=1)]))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
    assert first.number == "F-00000001"


def test_a_correction_by_credit_note_and_a_new_bill(session, client, login, eik):
    site, ada, bo, cp = eik
    tx = _tx(session, cp, ada, datetime(2026, 11, 10, 18, tzinfo=UTC), datetime(2026, 11, 10, 20, tzinfo=UTC),
             cost=9000, vat=1800)
    admin = make_user(session, "admin@op.test", staff_role="admin")
    session.commit()
    st = statements.issue(session, site, 2026, 11, OPERATOR)[0]
    session.commit()
    total, session_line = st.total_minor, next(ln for ln in st.lines if ln.kind == "session")
    tx.cost_minor, tx.vat_minor = 3200, 640  # support found the meter reading wrong
    with pytest.raises(credit_notes.CreditNoteError):  # what the resident reads is chosen, never typed
        credit_notes.credit(session, admin, st, "Wrong meter reading", OPERATOR, [session_line.id],
                            resident_reason="Our meter was wrong, sorry")
    done = credit_notes.credit(session, admin, st, "Wrong meter reading", OPERATOR, [session_line.id], rebill=True,
                               resident_reason="meter_error")
    session.commit()
    note, again = done.credit_note, done.rebilled
    assert (note.kind, note.corrects_id, note.number, note.total_minor) == ("credit_note", st.id, "F-00000002", -9000)
    assert (again.kind, again.number, again.total_minor) == ("supplementary", "F-00000003", 3200)
    assert st.total_minor == total  # the statement itself is never edited
    with pytest.raises(credit_notes.CreditNoteError):  # the same line is not credited twice
        credit_notes.credit(session, admin, st, "again", OPERATOR, [session_line.id], resident_reason="meter_error")
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "credit_note"))
    assert entry.area == "staff" and entry.reason == "Wrong meter reading" and entry.actor_id == admin.id
    _assert_ledger(session, site, 2026, 11, [tx])
    assert sum(r.cost_minor for r in statements.monthly_report(session, site, 2026, 11)) == 3200
    # The resident sees the credit note beside the statement, and each page links the other.
    login(client, ada)
    listing = client.get("/statements").get_data(as_text=True)
    assert f'data-statement="{note.id}" data-kind="credit_note"' in listing
    page = client.get(f"/statements/{note.id}").get_data(as_text=True)
    # the resident reads the plain reason in their language; the staff's own words stay internal
    assert "The charger measured the energy wrongly." in page and "Wrong meter reading" not in page
    assert st.number in page and 'data-minor="-9000"' in page
    assert note.number in client.get(f"/statements/{st.id}").get_data(as_text=True)


def test_a_deleted_users_documents_are_kept_under_a_pseudonym(session, eik):
    site, ada, bo, cp = eik
    tx = _tx(session, cp, ada, datetime(2026, 11, 10, 18, tzinfo=UTC), datetime(2026, 11, 10, 20, tzinfo=UTC))
    admin = make_user(session, "admin@op.test", staff_role="admin")
    session.commit()
    st = statements.issue(session, site, 2026, 11, OPERATOR)[0]
    session.commit()
    ada_id = ada.id
    accounts.delete_account(session, ada)
    session.commit()
    session.expire_all()
    kept = session.get(Statement, st.id)
    assert kept.user_id is None and kept.billed_name == f"Deleted user #{ada_id}" and kept.billed_email == ""
    assert len(kept.lines) == 2 and kept.total_minor == 30000 + 3200
    _assert_ledger(session, site, 2026, 11, [tx])
    note = credit_notes.credit(session, admin, kept, "Goodwill", OPERATOR,  # still correctable
                               resident_reason="goodwill").credit_note
    session.commit()
    assert note.billed_name == f"Deleted user #{ada_id}" and note.total_minor == -kept.total_minor
    assert sum(ln.amount_minor for ln in _lines_of(session, tx)) == 0  # credited in full, not billed again
    _assert_ledger(session, site, 2026, 11, [])
    assert all("ada@eik.test" not in (r.email or "") for r in statements.monthly_report(session, site, 2026, 11))


def test_two_runs_at_once_give_no_duplicate_numbers_and_no_gaps(db, session, database_url, redis_url, job_env):
    sites = []
    for n in range(3):
        site = make_site(session, f"s{n}")
        cp = make_charge_point(session, site, f"CP-S{n}")
        for k in range(3):
            user = make_user(session, f"u{n}{k}@s.test", site=site)
            _tx(session, cp, user, datetime(2026, 11, 3 + k, 8, tzinfo=UTC), datetime(2026, 11, 3 + k, 9, tzinfo=UTC))
        sites.append(site)
    session.commit()
    at = datetime(2026, 12, 1, 1, 15, tzinfo=UTC)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: _run(database_url, redis_url, at), range(2)))
    assert [sum(r.values()) for r in results] in ([9, 0], [0, 9]) or sum(sum(r.values()) for r in results) == 9
    session.expire_all()
    docs = _documents(session)
    assert len(docs) == 9
    txs = list(session.scalars(select(Transaction)))
    for site in sites:
        _assert_ledger(session, site, 2026, 11, [tx for tx in txs if tx.charge_point.site_id == site.id])


def test_a_failed_run_leaves_no_gap(session, eik):
    site, ada, bo, cp = eik
    _tx(session, cp, ada, datetime(2026, 11, 10, 18, tzinfo=UTC), datetime(2026, 11, 10, 20, tzinfo=UTC))
    session.commit()
    statements.issue(session, site, 2026, 11, OPERATOR)
    session.rollback()  # the run failed after numbering
    assert [d.number for d in statements.issue(session, site, 2026, 11, OPERATOR)] == ["F-00000001"]
    session.commit()


def test_the_credit_command_is_for_operator_admins(app, session, eik):
    site, ada, bo, cp = eik
    _tx(session, cp, ada, datetime(2026, 11, 10, 18, tzinfo=UTC), datetime(2026, 11, 10, 20, tzinfo=UTC))
    make_user(session, "admin@op.test", staff_role="admin")
    make_user(session, "support@op.test", staff_role="support")
    session.commit()
    st = statements.issue(session, site, 2026, 11, OPERATOR)[0]
    session.commit()
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["statements", "credit", st.number, "--reason", "x", "--by", "support@op.test",
                                  "--resident-reason", "goodwill"])
    assert refused.exit_code != 0 and "operator admin" in refused.output
    listed = runner.invoke(args=["statements", "show", st.number])
    line = next(ln for ln in st.lines if ln.kind == "session")
    assert f"line {line.id}: session" in listed.output
    done = runner.invoke(args=["statements", "credit", st.number, "--reason", "Double start", "--by", "admin@op.test",
                               "--line", str(line.id), "--resident-reason", "billed_twice"])
    assert done.exit_code == 0, done.output
    session.expire_all()
    note = session.scalar(select(Statement).where(Statement.kind == "credit_note"))
    assert note.corrects_id == st.id and note.total_minor == -line.amount_minor and note.reason == "Double start"
    assert note.resident_reason == "billed_twice"


def _insert(conn, table: str, **values) -> int:
    """A row in the old schema: the given values, a plain value for every other required column."""
    from datetime import date

    from sqlalchemy import MetaData, Table, types

    tab = Table(table, MetaData(), autoload_with=conn)
    plain = {types.Integer: 0, types.String: "x", types.Boolean: False, types.DateTime: datetime(2026, 10, 1),
             types.Date: date(2026, 10, 1), types.Numeric: 0, types.JSON: {}}
    for col in tab.columns:
        if col.name in values or col.nullable or col.primary_key or col.server_default is not None:
            continue
        values[col.name] = next(v for t, v in plain.items() if isinstance(col.type, t))
    return conn.execute(tab.insert().values(**values)).inserted_primary_key[0]


def test_the_migration_keeps_existing_statements(tmp_path):
    """0009 on a database with statements: kind 'statement', old numbers, snapshots, the month counted as run."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import create_engine, text

    from portal.config import PROJECT_ROOT

    url = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = AlembicConfig(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["database_url"], cfg.attributes["configure_logging"] = url, False
    command.upgrade(cfg, "0009")
    command.downgrade(cfg, "-1")
    engine = create_engine(url)
    with engine.begin() as conn:
        site_id = _insert(conn, "sites", slug="eik", name="Eik", timezone="Europe/Oslo", currency="NOK",
                          agreement_status="active")
        user_id = _insert(conn, "users", email="ada@eik.test", name="Ada", language="nb")
        _insert(conn, "statements", number="2026-10-0001-000001", site_id=site_id, user_id=user_id, year=2026,
                month=10, total_minor=100, vat_minor=20, currency="NOK")
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        row = conn.execute(text("SELECT kind, number, sequence_no, billed_name, billed_email, site_name "
                                "FROM statements")).one()
        assert tuple(row) == ("statement", "2026-10-0001-000001", None, "Ada", "ada@eik.test", "Eik")
        assert conn.execute(text("SELECT year, month FROM statement_runs")).one() == (2026, 10)
    engine.dispose()
