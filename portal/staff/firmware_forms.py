"""Forms of the firmware and diagnostics pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

FILL = _l("Fill this in.")


class FirmwareUploadForm(FlaskForm):
    vendor = StringField(_l("Vendor (as the charger reports it)"), validators=[InputRequired(FILL), Length(max=50)])
    model = StringField(_l("Model (as the charger reports it)"), validators=[InputRequired(FILL), Length(max=50)])
    version = StringField(_l("Firmware version (as the charger will report it)"),
                          validators=[InputRequired(FILL), Length(max=50)])
    checksum = StringField(_l("SHA-256 checksum published by the vendor"),
                           validators=[InputRequired(FILL), Length(max=100)])
    notes = TextAreaField(_l("Notes (release notes, what it fixes)"), validators=[Optional(), Length(max=2000)])
    file = FileField(_l("Firmware file"), validators=[FileRequired(_l("Choose the firmware file."))])


class RolloutForm(FlaskForm):
    scope = RadioField(_l("Update"), default="charger", choices=[
        SelectChoice("charger", _l("One charger (try it here first)")),
        SelectChoice("site", _l("Every charger of this model at a site")),
        SelectChoice("model", _l("Every charger of this model"))])
    charger = StringField(_l("Charger identity"), validators=[Optional(), Length(max=64)])
    site = StringField(_l("Site (its short name in the address)"), validators=[Optional(), Length(max=64)])
    wave_size = IntegerField(_l("Chargers at a time"), default=5, validators=[
        InputRequired(FILL), NumberRange(min=1, max=100, message=_l("Between 1 and 100."))])


class DiagnosticsForm(FlaskForm):
    ticket = IntegerField(_l("Ticket number (optional)"), validators=[Optional(), NumberRange(min=1)])
