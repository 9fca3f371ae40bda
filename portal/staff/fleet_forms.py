"""Forms of the fleet pages: claiming a waiting charger, resetting a known one's secret, taking over a site."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import HiddenField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from portal.staff.forms import REASON

CP_TYPES = [SelectChoice("private", _l("Private (the site's residents)")),
            SelectChoice("public", _l("Public (anyone with a tariff)")),
            SelectChoice("personal", _l("Personal (one owner)"))]


class ClaimForm(FlaskForm):
    identity = HiddenField(validators=[InputRequired(), Length(max=64)])
    site = SelectField(_l("Site"), validators=[InputRequired(message=_l("Choose the site."))])
    name = StringField(_l("Name shown to residents (optional)"), validators=[Optional(), Length(max=120)])
    cp_type = SelectField(_l("Type"), default="private", choices=CP_TYPES)
    connectors = IntegerField(_l("Number of outlets"), default=1, validators=[
        InputRequired(message=_l("Give the number of outlets (1 to 16).")),
        NumberRange(min=1, max=16, message=_l("Give the number of outlets (1 to 16)."))])
    tariff_group = SelectField(_l("Tariff group (optional)"), default="", validators=[Optional()])
    reason = TextAreaField(_l("Reason"), **REASON)


class ResetForm(FlaskForm):
    identity = HiddenField(validators=[InputRequired(), Length(max=64)])
    reason = TextAreaField(_l("Reason"), **REASON)


class TakeoverForm(FlaskForm):
    """Step one uploads the files and checks them (a dry run); step two sends the checked text back (base64
    in hidden fields, with the plan's digest) to apply exactly what was shown."""

    site = SelectField(_l("Site"), validators=[InputRequired(message=_l("Choose the site."))])
    chargers = FileField(_l("Chargers (CSV: identity, name, type, connectors, password)"),
                         validators=[Optional(), FileAllowed(["csv", "txt"], _l("Upload a CSV file."))])
    residents = FileField(_l("Residents (CSV: email, tag, tag_name)"),
                          validators=[Optional(), FileAllowed(["csv", "txt"], _l("Upload a CSV file."))])
    chargers_data = HiddenField()
    residents_data = HiddenField()
    digest = HiddenField()
    reason = TextAreaField(_l("Reason"), **REASON)
