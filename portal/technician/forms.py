"""The technician's forms on the private work order page (each button its own form)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateTimeLocalField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from portal.forms_common import NoControlCharacters, strip_text


class ConfirmForm(FlaskForm):
    when = DateTimeLocalField(_l("When will you come?"), format="%Y-%m-%dT%H:%M",
                              validators=[InputRequired(message=_l("Choose the day and time of the visit."))])


class ArriveForm(FlaskForm):
    """The button "I am on site now" (no fields)."""


class ReportForm(FlaskForm):
    outcome = TextAreaField(_l("What did you find and do?"), filters=[strip_text], validators=[
        DataRequired(message=_l("Write what you found and what you did.")), Length(max=5000),
        NoControlCharacters(multiline=True)])
    parts_used = TextAreaField(_l("Parts used (one per line)"), filters=[strip_text],
                               validators=[Length(max=5000), NoControlCharacters(multiline=True)])


class PhotoForm(FlaskForm):
    photo = FileField(_l("Photo (JPEG or PNG, at most 8 MB)"))
