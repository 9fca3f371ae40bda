"""One form per resident use case."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectChoice, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from portal.forms_common import NoControlCharacters
from portal.services.people.tags import NAME_MAX, normalise, valid_format


class EmptyForm(FlaskForm):
    """Button-only posts (favourite, stop, activate, block): CSRF only."""


class StartForm(FlaskForm):
    connector = RadioField(_l("Outlet"), coerce=int, validators=[InputRequired()], choices=[])


class FavouriteForm(FlaskForm):
    """Add or remove a favourite; `next` brings the user back to the page they were on."""
    next = HiddenField()


class TagFormat:
    def __call__(self, form, field) -> None:
        if field.data and not valid_format(normalise(field.data)):
            raise ValidationError(_l("A tag is 1 to 20 letters, digits or signs, as printed on the card or shown "
                                     "by the reader."))


class TagForm(FlaskForm):
    tag = StringField(_l("Tag number"), validators=[InputRequired(), Length(max=40), TagFormat()],
                      description=_l("The number printed on the card or key fob."))
    name = StringField(_l("Name (optional)"), validators=[Optional(), Length(max=NAME_MAX), NoControlCharacters()],
                       description=_l("For example \"Blue key fob\"."))


class TagNameForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Optional(), Length(max=NAME_MAX), NoControlCharacters()])


class AuthSettingForm(FlaskForm):
    auth = RadioField(_l("Authentication"), validators=[InputRequired()], choices=[
        SelectChoice("required", _l("Required: start with the app or your RFID tag")),
        SelectChoice("not_required", _l("Not required: charging starts when you plug in")),
    ])
