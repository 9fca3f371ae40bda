"""Operator admin: staff accounts and roles (the console's audit log is in audit.py)."""
from __future__ import annotations

from flask import abort, flash, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from portal.extensions import db_session
from portal.htmx import hx_redirect, render
from portal.models import User
from portal.services.sites import audit
from portal.staff import bp
from portal.staff.common import staff_area
from portal.staff.forms import RoleForm


@bp.route("/accounts")
@staff_area("admin")
def accounts():
    """Staff accounts, and anyone else found by e-mail to give a role to."""
    q = request.args.get("q", "").strip().lower()[:100]
    query = select(User).where(User.staff_role.is_not(None))
    if q:
        query = select(User).where(or_(User.staff_role.is_not(None), func.lower(User.email).like(f"%{q}%")))
    users = list(db_session().scalars(query.order_by(User.email).limit(100)))
    return render("staff/accounts.html", users=users, q=q, form=RoleForm(), section="accounts")


@bp.route("/accounts/<int:user_id>/role", methods=["POST"])
@staff_area("admin")
def account_role(user_id: int):
    session = db_session()
    user = session.get(User, user_id)
    if user is None:
        abort(404)
    form = RoleForm()
    if not form.validate_on_submit():
        flash(" ".join(str(e) for e in form.reason.errors or form.role.errors), "error")
        return hx_redirect("staff.accounts")
    if user.id == current_user.id and form.role.data != "admin":
        flash(_("You cannot take away your own admin role."), "error")
        return hx_redirect("staff.accounts")
    before = {"staff_role": user.staff_role}
    user.staff_role = form.role.data or None
    audit.record(session, current_user, None, "user", user.id, "staff_role", before=before,
                 after={"staff_role": user.staff_role, "email": user.email}, area="staff", reason=form.reason.data)
    session.commit()
    flash(_("The role of %(email)s is saved.", email=user.email), "info")
    return hx_redirect("staff.accounts")

