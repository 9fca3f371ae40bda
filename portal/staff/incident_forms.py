"""Forms of the staff incident page: what support found, and a remote step to try."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.models.faults import DOWNTIME_OWNERS
from portal.services.faults.words import OWNERS


class FindingsForm(FlaskForm):
    downtime_owner = SelectField(_l("Whose downtime it was"), choices=[SelectChoice(o, OWNERS[o]) for o in DOWNTIME_OWNERS],
                                 validators=[DataRequired()])
    cause_found = TextAreaField(_l("Cause found"), validators=[
        DataRequired(message=_l("Say what you found.")), Length(max=2000)])


class StepForm(FlaskForm):
    """A button-only post (CSRF)."""
