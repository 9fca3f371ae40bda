"""The resident's monthly statements: the list, and one statement as a printable page."""
from __future__ import annotations

from datetime import date

from flask import abort, current_app
from flask_login import current_user, login_required

from portal.extensions import db_session
from portal.htmx import render
from portal.resident.routes import bp
from portal.services import statements


@bp.route("/statements", endpoint="statements")
@login_required
def statement_list():
    """Every statement the resident has received, newest first."""
    return render("resident/statements.html", statements=statements.user_statements(db_session(), current_user.id),
                  month_date=lambda st: date(st.year, st.month, 1))


@bp.route("/statements/<int:statement_id>")
@login_required
def statement(statement_id: int):
    """One statement with every line and its VAT; prints cleanly on A4."""
    st = statements.own_statement(db_session(), current_user, statement_id)
    if st is None:
        abort(404)
    return render("resident/statement.html", st=st, month_date=date(st.year, st.month, 1),
                  sessions=[ln for ln in st.lines if ln.kind == "session"],
                  fees=[ln for ln in st.lines if ln.kind == "subscription"],
                  support_phone=current_app.config["SUPPORT_PHONE"])
