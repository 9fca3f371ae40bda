"""The resident's statements, supplementary statements and credit notes: the list, and one as a printable page."""
from __future__ import annotations

from datetime import date

from flask import abort, current_app
from flask_login import current_user, login_required

from portal.extensions import db_session
from portal.htmx import render
from portal.resident import bp
from portal.services.billing import statements

DEFAULT_VAT_BP = 2500  # 25 % in Norway and Sweden: the rate shown when the site is gone (lines keep their VAT)


@bp.route("/statements", endpoint="statements")
@login_required
def statement_list():
    """Every document the resident has received, newest month first, credit notes beside their statements."""
    return render("resident/statements.html", statements=statements.user_statements(db_session(), current_user.id),
                  month_date=lambda st: date(st.year, st.month, 1))


@bp.route("/statements/<int:statement_id>")
@login_required
def statement(statement_id: int):
    """One document with every line and its VAT (and the credit notes that correct it); prints cleanly on A4."""
    st = statements.own_statement(db_session(), current_user, statement_id)
    if st is None:
        abort(404)
    return render("resident/statement.html", st=st, month_date=date(st.year, st.month, 1),
                  sessions=[ln for ln in st.lines if ln.kind == "session"],
                  fees=[ln for ln in st.lines if ln.kind == "subscription"],
                  credit_notes=statements.credit_notes_of(db_session(), st.id),
                  vat_percent=round((st.site.vat_rate_bp if st.site else DEFAULT_VAT_BP) / 100),
                  support_phone=current_app.config["SUPPORT_PHONE"])
