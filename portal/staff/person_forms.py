"""The forms of a person's page: each action, its reason for the audit log, and what the person is told."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal.forms_common import strip_text

from portal.labels import TICKET_CATEGORY_LABELS
from portal.services.people.plain_reasons import TAG_BLOCKED
from portal.staff.forms import REASON

INTERNAL = _l("Internal note (staff only, never shown to the person)")


class PersonSearchForm(FlaskForm):
    """GET: find a person (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    q = StringField(_l("Name, e-mail, phone number or RFID tag"), validators=[Optional(), Length(max=100)])


class BlockTagForm(FlaskForm):
    reason = RadioField(_l("What the person is told"),
                        validators=[InputRequired(message=_l("Choose what the person is told."))],
                        choices=[SelectChoice(code, _l(text)) for code, text in TAG_BLOCKED.items()])
    note = TextAreaField(INTERNAL, validators=[Optional(), Length(max=500)])


class ReasonOnlyForm(FlaskForm):
    """Unblock a tag, stop a session: the reason goes in the audit log."""

    reason = TextAreaField(_l("Reason"), **REASON)


class ResendInviteForm(FlaskForm):
    reason = StringField(_l("Why (optional)"), validators=[Optional(), Length(max=500)])


class StartForForm(FlaskForm):
    outlet = SelectField(_l("Charger and outlet"), choices=[], validate_choice=True,
                         validators=[InputRequired(message=_l("Choose a charger."))])
    reason = TextAreaField(_l("Reason"), **REASON)


class CallNoteForm(FlaskForm):
    category = SelectField(_l("What the call was about"), default="start_stop", validate_choice=True,
                           choices=[SelectChoice(c, label) for c, label in TICKET_CATEGORY_LABELS.items()])
    outcome = RadioField(_l("Outcome"), default="resolved", validators=[InputRequired()], choices=[
        SelectChoice("resolved", _l("Solved on the phone")), SelectChoice("open", _l("Support follows it up"))])
    ticket = SelectField(_l("Note it on"), default="new", choices=[], validate_choice=True)
    note = TextAreaField(_l("Notes of the call (staff only, never shown to the person)"), filters=[strip_text],
                         validators=[DataRequired(message=_l("Write what the call was about.")), Length(max=5000)])
