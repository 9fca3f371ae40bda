"""Private links: "send me a new link" (`/links`) and the page an expired link answers with (410).

A private link (a visitor's ticket, an order) stops working LINK_IDLE_DAYS after its last use
(portal/services/helpdesk/tokens.py). Whoever holds the inbox asks here for new ones. The answer is the same
whether or not the address has any; limited per client and, silently, per address.
"""
from __future__ import annotations

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import InputRequired, Length

from portal.auth.limits import address_key, hit, limiter
from portal.extensions import db_session, redis_conn
from portal.forms_common import EmailAddress, Honeypot
from portal.htmx import render
from portal.public import bp
from portal.services.people.mail import enqueue_outbox
from portal.services.helpdesk.private_links import queue_links_email, reissue_links
from portal.services.helpdesk.tokens import LINK_IDLE_DAYS, LinkExpired
from portal.web import current_language

LINKS_LIMIT = "5 per hour; 20 per day"  # per client address
LINK_MAILS_PER_ADDRESS = "3 per hour; 10 per day"  # per inbox, counted silently: the answer stays the same


class NewLinksForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[InputRequired(), Length(max=254), EmailAddress()])
    website = StringField(_l("Leave this empty"), validators=[Honeypot()])


@bp.route("/links", methods=["GET", "POST"])
@limiter.limit(LINKS_LIMIT, methods=["POST"])
def new_links():
    form = NewLinksForm()
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render("public/links.html", block="form", status=status, form=form, sent=False, days=LINK_IDLE_DAYS)
    email = form.email.data.strip()
    session = db_session()
    mail = None
    if hit(LINK_MAILS_PER_ADDRESS, "link-mails", address_key(email)):
        found = reissue_links(session, email)
        if found:
            mail = queue_links_email(session, email, current_language(), found)
    session.commit()
    if mail is not None:
        enqueue_outbox(redis_conn(), [mail.id])
    return render("public/links.html", block="form", form=form, sent=True, days=LINK_IDLE_DAYS)


@bp.app_errorhandler(LinkExpired)
def link_expired(_error: LinkExpired):
    """An expired private link: say so (410) and point to /links. Nothing of the ticket or order is shown."""
    return render("public/link_expired.html", status=410, days=LINK_IDLE_DAYS)
