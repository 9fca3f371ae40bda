"""Issue 24 parts 1-3 end to end: statements get a KID and due date; a camt.054 file built from the
statements in the database (as the bank would) is uploaded by support and pays them; the same file again
changes nothing, also when two staff upload it at the same moment; overpayments; reminders; and the board's
rule that stops a resident with a long-unpaid statement from starting a charge."""
from __future__ import annotations

import io
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from portal.models import BankFile, OutboxEmail, Payment, Statement, StatementReminder, Transaction, User
from portal.services.billing import statements
from portal.services.payments import bank_files, references, surplus, terms as payment_terms
from tests.factories import make_charge_point, make_site, make_user, resident_with_access
from tests.support.camt import camt054, kroner

UTC = timezone.utc
OPERATOR = statements.Operator("Ladeportalen AS", "923 609 016")


def _tx(session, cp, user, start: datetime, cost: int) -> Transaction:
    tx = Transaction(charge_point_id=cp.id, connector_id=1, id_tag="T", user_id=user.id, status="completed",
                     start_key=f"k-{cp.id}-{user.id}-{start.isoformat()}", meter_start_wh=1, meter_stop_wh=10_001,
                     started_at=start, stopped_at=start + timedelta(hours=2), energy_wh=10_000, cost_minor=cost,
                     vat_minor=cost // 5, energy_fee="3.2000")
    session.add(tx)
    session.flush()
    return tx


@pytest.fixture
def november(session):
    """Eik borettslag's November: four residents, each with one statement issued."""
    site = make_site(session, "eik", name="Eik borettslag")
    cp = make_charge_point(session, site, "CP-EIK-1")
    people = [make_user(session, f"{n.split()[0].lower()}@eik.test", site=site, name=n)
              for n in ("Ada Berg", "Bo Dahl", "Cy Eng", "Di Fos")]
    for i, person in enumerate(people):
        _tx(session, cp, person, datetime(2026, 11, 10 + i, 18, tzinfo=UTC), 20_000 + 1000 * i)
    session.commit()
    issued = statements.issue(session, site, 2026, 11, OPERATOR)
    session.commit()
    return site, {st.billed_name.split()[0]: st for st in issued}, people


def test_a_statement_is_payable_and_says_how(session, november, client, login):
    site, st, people = november
    ada = st["Ada"]
    terms = payment_terms.load()
    assert ada.payment_reference == references.statement_reference(ada.sequence_no, False, "NOK")
    assert references.is_valid(ada.payment_reference, "NOK", "mod10")
    assert ada.due_on == ada.created_at.date() + timedelta(days=terms.payment_days)
    assert ada.pay_to_account == "86011117947" and ada.paid_state == "unpaid"
    assert len({s.payment_reference for s in st.values()}) == 4
    login(client, people[0])
    page = client.get(f"/statements/{ada.id}").get_data(as_text=True)
    assert ada.payment_reference in page and "8601 11 17947" in page and 'data-paid-state="unpaid"' in page
    assert 'data-paid-state="unpaid"' in client.get("/statements").get_data(as_text=True)


def _bank_file_for(st: dict[str, Statement]) -> bytes:
    """What the bank sends after the residents paid: Ada all with her KID, Bo half with his, Cy all but with a
    mistyped KID (last digit wrong), Di twice the amount, and a stranger with no reference at all."""
    ada, bo, cy, di = st["Ada"], st["Bo"], st["Cy"], st["Di"]
    wrong = cy.payment_reference[:-1] + str((int(cy.payment_reference[-1]) + 1) % 10)
    return camt054([
        {"entry": "E-1", "amount": kroner(ada.total_minor), "ref": ada.payment_reference, "name": "ADA BERG"},
        {"entry": "E-2", "amount": kroner(bo.total_minor // 2), "ref": bo.payment_reference, "name": "Bo Dahl"},
        {"entry": "E-3", "amount": kroner(cy.total_minor), "ref": wrong, "name": "Eng Cy"},
        {"entry": "E-4", "amount": kroner(di.total_minor * 2), "ustrd": f"KID {di.payment_reference}", "name": "Di"},
        {"entry": "E-5", "amount": "123.45", "name": "Someone Else"},
    ])


def _states(session, st) -> dict[str, str]:
    session.expire_all()
    return {name: session.get(Statement, s.id).paid_state for name, s in st.items()}


def _counts(session) -> tuple[int, int]:
    return (session.scalar(select(func.count()).select_from(Payment)),
            session.scalar(select(func.count()).select_from(BankFile)))


def test_support_uploads_the_banks_file_and_the_statements_are_paid(session, november, client, login):
    site, st, people = november
    support = make_user(session, "support@op.test", staff_role="support")
    session.commit()
    login(client, support)
    data = _bank_file_for(st)
    response = client.post("/staff/payments/upload", data={"bank_file": (io.BytesIO(data), "camt054.xml")},
                           content_type="multipart/form-data")
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]
    assert _states(session, st) == {"Ada": "paid", "Bo": "part_paid", "Cy": "unpaid", "Di": "overpaid"}
    cy_payment = session.scalar(select(Payment).where(Payment.entry_ref == "E-3-1"))
    assert cy_payment.state == "suggested" and cy_payment.suggested_id == st["Cy"].id  # wrong KID: never automatic
    assert session.scalar(select(Payment).where(Payment.entry_ref == "E-5-1")).state == "unmatched"
    before = _counts(session)
    # The same file again: nothing recorded twice.
    again = client.post("/staff/payments/upload", data={"bank_file": (io.BytesIO(data), "again.xml")},
                        content_type="multipart/form-data", follow_redirects=True)
    assert "recorded before" in again.get_data(as_text=True)
    assert _counts(session) == before
    # The pages staff filter by.
    assert "Eng Cy" in client.get("/staff/payments?show=suggested").get_data(as_text=True)
    assert st["Bo"].number in client.get("/staff/payments?show=part_paid").get_data(as_text=True)
    assert "Someone Else" in client.get("/staff/payments?show=unmatched").get_data(as_text=True)
    # Support confirms the suggestion: Cy's statement is paid.
    assert client.post("/staff/payments/assign", data={"payment_id": cy_payment.id, "number": ""}).status_code == 303
    assert _states(session, st)["Cy"] == "paid"
    # What residents paid per site and month: one query over payments.
    paid = session.scalar(select(func.sum(Payment.amount_minor)).where(Payment.site_id == site.id,
                                                                       Payment.booked_on >= date(2026, 12, 1)))
    assert paid == st["Ada"].total_minor + st["Bo"].total_minor // 2 + st["Cy"].total_minor + 2 * st["Di"].total_minor


@pytest.mark.parametrize("data, words", [
    (b"<Document><not-closed>", "not well-formed"),
    (camt054([{"entry": "X", "amount": "1.00"}], ns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"), "camt.053"),
    (camt054([{"entry": "X", "amount": "1.00"}], currency="EUR"), "currency"),
])
def test_a_wrong_file_is_refused_and_records_nothing(session, november, client, login, data, words):
    support = make_user(session, "support@op.test", staff_role="support")
    session.commit()
    login(client, support)
    response = client.post("/staff/payments/upload", data={"bank_file": (io.BytesIO(data), "bad.xml")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and words in response.get_data(as_text=True)
    assert _counts(session) == (0, 0)


def test_two_staff_uploading_the_same_file_at_once_record_it_once(db, session, november):
    site, st, people = november
    a = make_user(session, "a@op.test", staff_role="support")
    b = make_user(session, "b@op.test", staff_role="admin")
    session.commit()
    data, terms = _bank_file_for(st), payment_terms.load()
    barrier, results, errors = threading.Barrier(2), [], []

    def run(user_id: int) -> None:
        try:
            with db.session() as s:
                actor = s.get(User, user_id)
                barrier.wait()
                results.append(bank_files.upload(s, data, "camt.xml", actor, terms, 1_000_000))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(u.id,)) for u in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(r.already for r in results) == [False, True]
    assert _counts(session) == (5, 1)
    assert _states(session, st)["Ada"] == "paid"


def test_an_overpayment_is_carried_to_the_next_statement(session, november):
    site, st, people = november
    staff = make_user(session, "admin@op.test", staff_role="admin")
    session.commit()
    bank_files.upload(session, _bank_file_for(st), "f.xml", staff, payment_terms.load(), 1_000_000)
    di = session.get(Statement, st["Di"].id)
    surplus.settle(session, staff, di, "carry")  # no December statement yet: the credit waits
    session.commit()
    cp = session.scalar(select(Transaction)).charge_point
    _tx(session, cp, people[3], datetime(2026, 12, 5, 18, tzinfo=UTC), 10_000)
    session.commit()
    (december,) = statements.issue(session, site, 2026, 12, OPERATOR)
    session.commit()
    assert december.paid_state == "paid" and december.paid_minor == 10_000
    assert session.get(Statement, di.id).paid_state == "overpaid"  # what is left waits for the next one
    with pytest.raises(surplus.SurplusError):
        surplus.settle(session, staff, di, "refund")


def test_a_refund_settles_an_overpayment(session, november):
    site, st, people = november
    staff = make_user(session, "admin@op.test", staff_role="admin")
    session.commit()
    bank_files.upload(session, _bank_file_for(st), "f.xml", staff, payment_terms.load(), 1_000_000)
    di = session.get(Statement, st["Di"].id)
    surplus.settle(session, staff, di, "refund")
    session.commit()
    assert di.paid_state == "paid"
    refund = session.scalar(select(Payment).where(Payment.kind == "refund"))
    assert refund.amount_minor == -di.total_minor and refund.site_id == site.id


@pytest.fixture
def job_env(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "payments-test-key-" + "k" * 32)


def test_reminders_go_out_after_the_due_date_in_the_residents_language(session, db, database_url, redis_url,
                                                                        november, job_env):
    from worker.jobs.payments import send_payment_reminders

    site, st, people = november
    people[1].language = "nb"
    for s in st.values():
        s.due_on = date(2026, 12, 4)  # a Friday
    bo = st["Bo"]
    session.get(Statement, st["Ada"].id).promise_until = date(2026, 12, 31)  # Ada promised: paused
    session.commit()
    assert send_payment_reminders(database_url, redis_url, today=date(2026, 12, 10)) == 0  # not yet (4 + 7 = 11)
    assert send_payment_reminders(database_url, redis_url, today=date(2026, 12, 11)) == 3  # Bo, Cy, Di
    assert send_payment_reminders(database_url, redis_url, today=date(2026, 12, 11)) == 0  # once
    session.expire_all()
    mail = session.scalar(select(OutboxEmail).where(OutboxEmail.kind == "statement_reminder",
                                                    OutboxEmail.to_address == "bo@eik.test"))
    assert mail.language == "nb" and "Påminnelse" in mail.subject and bo.payment_reference in mail.body_text
    assert "8601 11 17947" in mail.body_text
    # The second reminder 14 days after the first: Friday 25 December -> still a Friday (no holidays kept).
    assert send_payment_reminders(database_url, redis_url, today=date(2026, 12, 24)) == 0
    assert send_payment_reminders(database_url, redis_url, today=date(2026, 12, 25)) == 3
    levels = session.scalars(select(StatementReminder.level).where(StatementReminder.statement_id == bo.id))
    assert sorted(levels) == [1, 2]
    assert all(r.fee_minor == 0 for r in session.scalars(select(StatementReminder)))  # no fee by default


def test_the_board_can_stop_charging_until_an_old_statement_is_paid(session, db, client, login):
    site, user, cp = resident_with_access(session)
    session.commit()
    _tx(session, cp, user, datetime(2026, 9, 10, 18, tzinfo=UTC), 15_000)
    session.commit()
    (st,) = statements.issue(session, site, 2026, 9, OPERATOR)
    st.due_on = datetime.now(UTC).date() - timedelta(days=20)
    session.commit()
    login(client, user)

    def reason() -> str | None:
        page = client.get(f"/c/{cp.identity}").get_data(as_text=True)
        return "unpaid" if 'data-reason="unpaid"' in page else ("ok" if 'data-testid="start-button"' in page else None)

    assert reason() == "ok"  # the board has not chosen the rule
    site.unpaid_block_days = 30
    session.commit()
    assert reason() == "ok"  # 20 days overdue, the limit is 30
    site.unpaid_block_days = 10
    session.commit()
    assert reason() == "unpaid"
    page = client.get(f"/c/{cp.identity}").get_data(as_text=True)
    assert "board has decided" in page
    response = client.post(f"/c/{cp.identity}/start", data={"connector": "1"})
    assert response.status_code != 500
    assert session.scalar(select(func.count()).select_from(Transaction)) == 1  # nothing started
    # Support notes a promise to pay: the stop is lifted until that date.
    staff = make_user(session, "support@op.test", staff_role="support")
    session.commit()
    from tests.conftest import browser_like_client

    staff_client = browser_like_client(client.application)
    login(staff_client, staff)
    until = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()
    assert staff_client.post("/staff/payments/overdue/promise",
                             data={"statement_id": st.id, "until": until, "note": "Pays on payday"}).status_code == 303
    assert reason() == "ok"
    session.expire_all()
    session.get(Statement, st.id).promise_until = None
    session.commit()
    assert reason() == "unpaid"
    # Paid: charging again.
    bank_files.upload(session, camt054([{"entry": "P-1", "amount": kroner(st.total_minor),
                                         "ref": st.payment_reference, "name": "x"}]),
                      "f.xml", staff, payment_terms.load(), 1_000_000)
    assert reason() == "ok"


def test_an_rfid_tap_is_refused_too_when_the_board_chose_the_rule(session):
    from portal.models import IdTag
    from portal.services.ocpp_ingest.transactions import tag_status

    site, user, cp = resident_with_access(session)
    session.add(IdTag(tag="RFID-UNPAID-1", user_id=user.id, kind="rfid", name="Fob"))
    _tx(session, cp, user, datetime(2026, 9, 10, 18, tzinfo=UTC), 15_000)
    session.commit()
    (st,) = statements.issue(session, site, 2026, 9, OPERATOR)
    st.due_on = datetime.now(UTC).date() - timedelta(days=20)
    session.commit()
    assert tag_status(session, cp, "RFID-UNPAID-1") == "Accepted"
    site.unpaid_block_days = 10
    session.commit()
    assert tag_status(session, cp, "RFID-UNPAID-1") == "Invalid"
    st.promise_until = datetime.now(UTC).date() + timedelta(days=3)
    session.commit()
    assert tag_status(session, cp, "RFID-UNPAID-1") == "Accepted"


def test_a_promise_form_with_a_mistake_says_what_and_keeps_what_was_typed(session, november, client, login):
    site, st, people = november
    support = make_user(session, "support@op.test", staff_role="support")
    session.commit()
    login(client, support)
    response = client.post("/staff/payments/overdue/promise",
                           data={"statement_id": st["Bo"].id, "until": "", "note": "Calls back on Friday"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Give the date they promised." in page
    assert "Calls back on Friday" in page
    assert session.get(Statement, st["Bo"].id).promise_until is None


def test_the_statement_email_says_how_to_pay_in_the_residents_language(app, session, november):
    from portal.services.people import notify

    site, st, people = november
    people[2].language = "sv"
    session.commit()
    with app.app_context():
        mail = notify.statement_email(session, session.get(Statement, st["Cy"].id))
    assert mail.language == "sv"
    assert "Förfallodag" in mail.body_text and "Kontonummer: 8601 11 17947" in mail.body_text
    assert f"KID: {st['Cy'].payment_reference}" in mail.body_text


def test_statements_issued_before_get_their_reference_by_migration(tmp_path):
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import create_engine, text

    from portal.config import PROJECT_ROOT
    from tests.integration.test_statement_ledger import _insert

    url = f"sqlite:///{tmp_path / 'before.db'}"
    cfg = AlembicConfig(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["database_url"], cfg.attributes["configure_logging"] = url, False
    command.upgrade(cfg, "0018")
    engine = create_engine(url)
    with engine.begin() as conn:
        site_id = _insert(conn, "sites", slug="eik", name="Eik", timezone="Europe/Oslo", currency="NOK",
                          agreement_status="active")
        user_id = _insert(conn, "users", email="ada@eik.test", name="Ada", language="nb")
        for seq, total in ((7, 25_000), (8, 0)):
            _insert(conn, "statements", number=f"F-{seq:08d}", sequence_no=seq, kind="statement", site_id=site_id,
                    user_id=user_id, year=2026, month=10 + seq - 7, total_minor=total, vat_minor=0, currency="NOK")
    command.upgrade(cfg, "0022")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT sequence_no, payment_reference, due_on, paid_state, pay_to_account "
                                 "FROM statements ORDER BY sequence_no")).all()
    engine.dispose()
    (seq7, ref, due, state, account), nothing_to_pay = rows
    assert ref == references.statement_reference(7, False, "NOK") and state == "unpaid" and account == "86011117947"
    assert str(due) == str(datetime.now(UTC).date() + timedelta(days=14))
    assert nothing_to_pay[1:4] == (None, None, None)


def test_the_app_refuses_to_start_with_a_wrong_bank_account(app_config, monkeypatch):
    from portal import create_app

    monkeypatch.setenv("OPERATOR_BANK_ACCOUNT", "1234 56 78901")
    with pytest.raises(payment_terms.TermsError, match="OPERATOR_BANK_ACCOUNT"):
        create_app({**app_config, "TESTING": False, "SECRET_KEY": "payments-start-test-" + "k" * 40})


def test_no_reminders_go_out_at_the_weekend(session, database_url, redis_url, november, job_env):
    from worker.jobs.payments import send_payment_reminders

    site, st, people = november
    for s in st.values():
        s.due_on = date(2026, 12, 1)
    session.commit()
    assert send_payment_reminders(database_url, redis_url, today=date(2026, 12, 12)) == 0  # Saturday
    assert send_payment_reminders(database_url, redis_url, today=date(2026, 12, 13)) == 0  # Sunday
    assert send_payment_reminders(database_url, redis_url, today=date(2026, 12, 14)) == 4  # Monday


def test_the_board_sets_the_rule_on_its_page(session, client, login):
    site, user, cp = resident_with_access(session)
    board = make_user(session, "board@eik.test", site=site, role="board")
    session.commit()
    login(client, board)
    assert client.get(f"/manage/{site.slug}/payment-rule").status_code == 200
    wrong = client.post(f"/manage/{site.slug}/payment-rule", data={"unpaid_block_days": "0"})
    assert wrong.status_code == 422 and "from 1 to 365" in wrong.get_data(as_text=True)
    assert client.post(f"/manage/{site.slug}/payment-rule", data={"unpaid_block_days": "21"}).status_code == 303
    session.expire_all()
    assert session.get(type(site), site.id).unpaid_block_days == 21
    assert client.post(f"/manage/{site.slug}/payment-rule", data={"unpaid_block_days": ""}).status_code == 303
    session.expire_all()
    assert session.get(type(site), site.id).unpaid_block_days is None
    login(client, user)  # a resident may not
    assert client.post(f"/manage/{site.slug}/payment-rule", data={"unpaid_block_days": "5"}).status_code in (403, 404)


def test_a_payment_to_an_already_paid_statement_shows_as_overpaid(session, november):
    site, st, people = november
    staff = make_user(session, "admin@op.test", staff_role="admin")
    session.commit()
    ada = st["Ada"]
    pay = {"amount": kroner(ada.total_minor), "ref": ada.payment_reference, "name": "Ada Berg"}
    first = bank_files.upload(session, camt054([{**pay, "entry": "A-1"}]), "1.xml", staff, payment_terms.load(), 10**6)
    again = bank_files.upload(session, camt054([{**pay, "entry": "A-2"}], msg_id="MSG-2"), "2.xml", staff,
                              payment_terms.load(), 10**6)
    assert (first.matched, again.matched) == (1, 1)
    # A later file that repeats an entry already recorded (the bank's export overlaps) adds nothing for it.
    overlap = bank_files.upload(session, camt054([{**pay, "entry": "A-2"}], msg_id="MSG-3"), "3.xml", staff,
                                payment_terms.load(), 10**6)
    assert overlap.recorded == 0 and not overlap.already
    assert _states(session, st)["Ada"] == "overpaid"
    assert session.get(Statement, ada.id).paid_minor == 2 * ada.total_minor


def test_a_residents_data_export_includes_the_payments_of_their_statements(session, november):
    from portal.services.people.privacy import documents

    site, st, people = november
    staff = make_user(session, "admin@op.test", staff_role="admin")
    session.commit()
    bank_files.upload(session, _bank_file_for(st), "f.xml", staff, payment_terms.load(), 1_000_000)
    (doc,) = documents(session, people[0])
    assert doc["payment_reference"] == st["Ada"].payment_reference and doc["paid_state"] == "paid"
    assert [p["debtor_name"] for p in doc["payments"]] == ["ADA BERG"]
