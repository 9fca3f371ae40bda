"""The operator's fee at a site (part of the operating agreement, so sales and admins set it): a share in
percent of what residents paid and/or a fixed amount per month. The board sees the fee on its payout
statement (portal/site/account.py), never this page."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import abort, flash, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField

from portal.extensions import db_session
from portal.htmx import redirect_to, render
from portal.models import Site
from portal.services.billing import payouts
from portal.services.billing.electricity import BillError, parse_amount
from portal.services.sites import audit
from portal.staff import bp
from portal.staff.common import staff_area


class FeeForm(FlaskForm):
    share = StringField(_l("Share of what residents paid, in percent"))
    fixed = StringField(_l("Fixed fee per month incl. VAT"))


def _share_bp(text: str | None) -> int | None:
    try:
        value = Decimal((text or "0").strip().replace(",", ".") or "0")
    except InvalidOperation:
        return None
    if not 0 <= value <= 100 or value != value.quantize(Decimal("0.01")):
        return None
    return int(value * 100)


@bp.route("/sites/<slug>/payout-fee", methods=["GET", "POST"])
@staff_area("sales")
def site_payout_fee(slug: str):
    session = db_session()
    site = session.scalar(select(Site).where(Site.slug == slug))
    if site is None:
        abort(404)
    terms = payouts.terms_for(session, site.id)
    form = FeeForm(data=dict(share=f"{Decimal(terms.fee_share_bp) / 100:f}",
                             fixed=f"{terms.fee_fixed_minor / 100:.2f}"))
    status = 200
    if form.is_submitted():
        valid = form.validate_on_submit()  # CSRF (validate() clears errors: ours come after)
        share_bp = _share_bp(form.share.data)
        try:
            fixed_minor = parse_amount("fixed", form.fixed.data or "0")
        except BillError:
            fixed_minor = None
            form.fixed.errors = [_("Write an amount in numbers, e.g. 1 234,50; not negative.")]
        if share_bp is None:
            form.share.errors = [_("Give a percentage from 0 to 100 with at most two decimals.")]
        if valid and share_bp is not None and fixed_minor is not None:
            before = {"fee_share_bp": terms.fee_share_bp, "fee_fixed_minor": terms.fee_fixed_minor}
            payouts.set_terms(session, site.id, share_bp, fixed_minor)
            audit.record(session, current_user, site.id, "site", site.id, "payout_fee", before=before,
                         after={"fee_share_bp": share_bp, "fee_fixed_minor": fixed_minor}, area="staff")
            session.commit()
            flash(_("The operator fee of %(name)s is saved.", name=site.name), "success")
            return redirect_to(url_for("staff.site_payout_fee", slug=site.slug))
        status = 422
    return render("staff/payout_fee.html", status=status, site=site, form=form, section="sites")
