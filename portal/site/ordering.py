"""How the ordering portal presents the site: address for search, delivery time, models, price and what
it includes, instructions."""
from __future__ import annotations

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional

from portal.extensions import db_session
from portal.forms_common import NoControlCharacters, strip_text
from portal.htmx import redirect_to, render
from portal.services.sales.orders import ORDERING_FIELDS, update_ordering_settings
from portal.site import bp
from portal.site.common import managed_site


def _line(label, max_len: int):
    return StringField(label, filters=[strip_text], validators=[Optional(), Length(max=max_len), NoControlCharacters()])


class OrderingForm(FlaskForm):
    address = _line(_l("Street address"), 200)
    postcode = _line(_l("Postcode"), 10)
    city = _line(_l("City"), 80)
    order_delivery_time = _line(_l("Delivery time (e.g. 4–6 weeks)"), 120)
    order_charger_model = TextAreaField(_l("Charger models offered (one per line)"), filters=[strip_text], validators=[
        Optional(), Length(max=120), NoControlCharacters(multiline=True)])
    order_price = _line(_l("Price for the resident (e.g. 14 900 kr including VAT)"), 120)
    order_included = TextAreaField(_l("What the price includes (one item per line)"), filters=[strip_text], validators=[
        Optional(), Length(max=2000), NoControlCharacters(multiline=True)])
    order_instructions = TextAreaField(_l("How ordering works here (shown to residents)"), filters=[strip_text],
                                       validators=[Optional(), Length(max=2000), NoControlCharacters(multiline=True)])


@bp.route("/<slug>/ordering", methods=["GET", "POST"])
@login_required
def ordering(slug: str):
    site = managed_site(slug)
    form = OrderingForm()
    if request.method == "GET":
        for name in ORDERING_FIELDS:
            getattr(form, name).data = getattr(site, name)
    elif form.validate_on_submit():
        session = db_session()
        if update_ordering_settings(session, site, current_user, **{n: getattr(form, n).data for n in ORDERING_FIELDS}):
            session.commit()
            flash(_("The ordering page is updated."), "success")
        return redirect_to(url_for("site.ordering", slug=site.slug))
    status = 422 if request.method == "POST" else 200
    return render("site/ordering.html", block="ordering_form", status=status, site=site, form=form, section="ordering")
