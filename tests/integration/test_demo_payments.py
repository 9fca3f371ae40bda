"""The demo data's payments: a paid, a part-paid and overdue statements, recorded once through the bank
file service after seed-demo ran twice, and the staff pages show them."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from portal.models import BankFile, Payment, Statement, User


def test_seed_demo_has_paid_part_paid_and_overdue_statements(app, client, login, session):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert session.scalar(select(func.count()).select_from(BankFile)) == 1
    assert session.scalar(select(func.count()).select_from(Payment)) == 2
    states = [st.paid_state for st in session.scalars(select(Statement).where(Statement.paid_state.is_not(None)))]
    assert "paid" in states and "part_paid" in states
    overdue = session.scalars(select(Statement).where(Statement.paid_state == "unpaid",
                                                      Statement.due_on < date.today()))
    assert list(overdue)
    login(client, session.scalar(select(User).where(User.email == "support@demo.test")))
    page = client.get("/staff/payments/overdue").get_data(as_text=True)
    assert 'data-overdue="yes"' in page
    assert 'data-paid-state="part_paid"' in client.get("/staff/payments?show=part_paid").get_data(as_text=True)
