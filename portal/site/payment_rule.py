"""The board's payment rule: whether a resident with a statement unpaid for long may start charging here."""
from __future__ import annotations

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import NumberRange, Optional

from portal.extensions import db_session
from portal.htmx import redirect_to, render
from portal.services.sites import audit
from portal.site import bp
from portal.site.common import managed_site


class PaymentRuleForm(FlaskForm):
    unpaid_block_days = IntegerField(
        _l("Days past the due date before an unpaid statement stops charging (empty: never)"),
        validators=[Optional(), NumberRange(min=1, max=365, message=_l("Give a number of days from 1 to 365, or "
                                                                       "leave it empty."))])


@bp.route("/<slug>/payment-rule", methods=["GET", "POST"])
@login_required
def payment_rule(slug: str):
    site = managed_site(slug)
    form = PaymentRuleForm()
    if request.method == "GET":
        form.unpaid_block_days.data = site.unpaid_block_days
    elif form.validate_on_submit():
        session = db_session()
        before = site.unpaid_block_days
        if before != form.unpaid_block_days.data:
            site.unpaid_block_days = form.unpaid_block_days.data
            audit.record(session, current_user, site.id, "site", site.id, "payment_rule",
                         before={"unpaid_block_days": before}, after={"unpaid_block_days": site.unpaid_block_days})
            session.commit()
        flash(_("The payment rule is saved."), "success")
        return redirect_to(url_for("site.payment_rule", slug=site.slug))
    status = 422 if request.method == "POST" else 200
    return render("site/payment_rule.html", status=status, site=site, form=form, section="payment_rule")
