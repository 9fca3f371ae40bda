"""Ordering a charger and asking for a quote."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from portal.forms_common import EmailAddress, Honeypot, NoControlCharacters, PhoneNumber, strip_text
from portal.services.sales.orgnumbers import OrgNumberError, parse_org_number

ORG_TYPE_LABELS = {
    "housing_cooperative": _l("Housing cooperative (borettslag, bostadsrättsförening)"),
    "condominium": _l("Condominium (sameie)"),
    "commercial": _l("Commercial property"),
    "other": _l("Other professional owner"),
}
KIND_LABELS = {
    "takeover": _l("We have chargers and want you to take over operation, payment and support"),
    "new_installation": _l("We want a new or upgraded installation"),
}
ORDER_STATUS_LABELS = {
    "received": _l("Received"), "installer_booked": _l("Electrician booked"), "installed": _l("Installed"),
    "configured": _l("Ready to use"), "cancelled": _l("Cancelled"),
}


def _text(max_len: int, required: bool = True, message=None):
    first = DataRequired(message=message) if required else Optional()
    return [first, Length(max=max_len), NoControlCharacters()]


class OrderForm(FlaskForm):
    name = StringField(_l("Your name"), filters=[strip_text], validators=_text(120))
    email = EmailField(_l("E-mail"), validators=[InputRequired(), Length(max=254), EmailAddress()])
    phone = StringField(_l("Phone"), filters=[strip_text], validators=_text(32) + [PhoneNumber()])
    parking_space = StringField(_l("Your parking space (number or name)"), filters=[strip_text], validators=_text(40))
    charger_model = SelectField(_l("Charger"), choices=[], validate_choice=True, validators=[Optional()])
    consent = BooleanField(_l("I agree that my details are used to handle this order and to book an electrician."),
                           validators=[InputRequired(message=_l("Tick the box to agree, so we can handle the order."))])
    website = StringField(_l("Leave this empty"), validators=[Honeypot()])


class QuoteForm(FlaskForm):
    org_type = RadioField(_l("Type of organisation"), choices=[SelectChoice(k, v) for k, v in ORG_TYPE_LABELS.items()],
                          validators=[InputRequired(message=_l("Choose the type of organisation."))])
    org_name = StringField(_l("Name of the organisation"), filters=[strip_text], validators=_text(160))
    org_number = StringField(_l("Organisation number"), filters=[strip_text], validators=_text(20))
    contact_name = StringField(_l("Contact person"), filters=[strip_text], validators=_text(120))
    contact_role = StringField(_l("Role (e.g. chair of the board)"), filters=[strip_text], validators=_text(80, required=False))
    email = EmailField(_l("E-mail"), validators=[InputRequired(), Length(max=254), EmailAddress()])
    phone = StringField(_l("Phone"), filters=[strip_text], validators=_text(32) + [PhoneNumber()])
    parking_spaces = IntegerField(_l("Number of parking spaces"), validators=[
        InputRequired(message=_l("Enter the number of parking spaces, e.g. 40.")),
        NumberRange(min=1, max=100000, message=_l("Enter a number between 1 and 100 000."))])
    kind = RadioField(_l("What do you need?"), choices=[SelectChoice(k, v) for k, v in KIND_LABELS.items()],
                      validators=[InputRequired(message=_l("Choose what you need."))])
    message = TextAreaField(_l("Message (optional)"), validators=[Optional(), Length(max=5000),
                                                                 NoControlCharacters(multiline=True)])
    consent = BooleanField(_l("I agree that you store these details to answer the request and contact us."),
                           validators=[InputRequired(message=_l("Tick the box to agree, so we can contact you."))])
    site = HiddenField()
    website = StringField(_l("Leave this empty"), validators=[Honeypot()])

    def validate_org_number(self, field) -> None:
        try:
            parse_org_number(field.data or "")
        except OrgNumberError as exc:
            if exc.code == "checksum":
                raise ValidationError(_l("This organisation number is not valid: a check digit is wrong. "
                                         "Check it against the register.")) from exc
            raise ValidationError(_l("Enter a Norwegian organisation number (9 digits) or a Swedish one "
                                     "(10 digits, e.g. 556036-0793).")) from exc
