"""Support forms: a new ticket, a reply in the thread, the defective-charger guide."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    EmailField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal.forms_common import EmailAddress, Honeypot, NoControlCharacters, PhoneNumber, strip_text
from portal.labels import TICKET_CATEGORY_LABELS as CATEGORY_LABELS

ROUTE_LABELS = {
    "operator": _l("Our support"),
    "remote_diagnostics": _l("Remote diagnostics requested"),
    "technical_support": _l("For technical support (installer or supplier)"),
}
NO_CHARGER = ""
OTHER_CHARGER = "other"


class TicketForm(FlaskForm):
    category = SelectField(_l("What is it about?"), choices=[SelectChoice(k, v) for k, v in CATEGORY_LABELS.items()],
                           validators=[InputRequired()], validate_choice=True)
    charger = SelectField(_l("Which charger?"), choices=[], validate_choice=True, validators=[Optional()])
    charger_identity = StringField(filters=[strip_text], label=_l("Charger number (on its sticker, e.g. CP-1234)"),
                                   validators=[Optional(), Length(max=64), NoControlCharacters()])
    description = TextAreaField(_l("What happened?"), filters=[strip_text], validators=[
        DataRequired(message=_l("Tell us what happened, so we can help.")), Length(max=5000),
        NoControlCharacters(multiline=True)])
    photo = FileField(_l("Photo of the charger's display (optional, JPEG or PNG, at most 8 MB)"))
    name = StringField(filters=[strip_text], label=_l("Your name"), validators=[Optional(), Length(max=120), NoControlCharacters()])
    email = EmailField(_l("Your e-mail"), validators=[Optional(), Length(max=254), EmailAddress()])
    phone = StringField(filters=[strip_text], label=_l("Phone (optional)"),
                        validators=[Optional(), Length(max=32), NoControlCharacters(), PhoneNumber()])
    route = HiddenField(default="operator")
    website = StringField(_l("Leave this empty"), validators=[Honeypot()])

    def set_chargers(self, chargers) -> None:
        """Signed-in users pick from their chargers, or say it is another one."""
        self.charger.choices = ([SelectChoice(NO_CHARGER, _l("No particular charger"))]
                                + [SelectChoice(cp.identity, f"{cp.display_name} ({cp.identity})") for cp in chargers]
                                + [SelectChoice(OTHER_CHARGER, _l("Another charger (type its number below)"))])


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Your reply"), filters=[strip_text], validators=[
        DataRequired(message=_l("Write a reply before sending.")), Length(max=5000),
        NoControlCharacters(multiline=True)])
    photo = FileField(_l("Add a photo (optional, JPEG or PNG, at most 8 MB)"))
