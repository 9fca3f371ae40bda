"""Forms of the ticket desk: the queue's search and filters, the answer and the internal note (two
different forms on purpose), merging, and saved replies."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Regexp

from portal.forms_common import NoControlCharacters, strip_text
from portal.staff.forms import TicketFilterForm

ROUTE_LABELS = {
    "operator": _l("Our support"),
    "remote_diagnostics": _l("Remote diagnostics requested"),
    "technical_support": _l("For technical support (installer or supplier)"),
}
LANGUAGE_LABELS = {"nb": _l("Norwegian"), "sv": _l("Swedish"), "en": _l("English")}


class QueueForm(TicketFilterForm):
    """The queue's filters plus a free-text search and the guide's outcome."""

    q = StringField(_l("Search"), filters=[strip_text], validators=[Length(max=100)],
                    description=_l("Subject, messages, requester or charger; #123 for a ticket number"))
    route = SelectField(_l("Guide outcome"), default="", validate_choice=False, choices=[
        SelectChoice("", _l("All"))] + [SelectChoice(k, v) for k, v in ROUTE_LABELS.items()])


class StaffReplyForm(FlaskForm):
    """An answer to the customer: shown in their thread and e-mailed, with an optional photo."""

    body = TextAreaField(_l("Answer to the customer"), filters=[strip_text], validators=[
        InputRequired(message=_l("Write a message.")), Length(max=5000), NoControlCharacters(multiline=True)])
    photo = FileField(_l("Add a photo (optional, JPEG or PNG, at most 8 MB)"))
    saved = SelectField(_l("Saved reply"), choices=[], validate_choice=False)


class NoteForm(FlaskForm):
    """A note for colleagues only."""

    body = TextAreaField(_l("Internal note"), filters=[strip_text], validators=[
        InputRequired(message=_l("Write a message.")), Length(max=5000), NoControlCharacters(multiline=True)])


class MergeForm(FlaskForm):
    into = StringField(_l("Merge this ticket into ticket number"), filters=[strip_text], validators=[
        InputRequired(message=_l("Write the number of the ticket that carries on.")),
        Regexp(r"^#?\d{1,9}$", message=_l("Write a ticket number, such as #42."))])


class SavedReplyForm(FlaskForm):
    language = SelectField(_l("Language"), choices=[SelectChoice(k, v) for k, v in LANGUAGE_LABELS.items()])
    title = StringField(_l("Title"), filters=[strip_text], validators=[
        InputRequired(message=_l("Give the reply a short title.")), Length(max=120), NoControlCharacters()])
    body = TextAreaField(_l("Text"), filters=[strip_text], validators=[
        InputRequired(message=_l("Write a message.")), Length(max=5000), NoControlCharacters(multiline=True)],
        description=_l("Placeholders: {name} (the requester), {charger}, {site}."))
