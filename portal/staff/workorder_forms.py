"""The staff forms of work orders and maintenance windows."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, EmailField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from portal.forms_common import EmailAddress, NoControlCharacters, strip_text

LANGUAGES = [SelectChoice("nb", "Norsk"), SelectChoice("sv", "Svenska"), SelectChoice("en", "English")]


def _text(label, required: str | None = None, max_length: int = 200, area: bool = False):
    checks = [DataRequired(message=required)] if required else [Optional()]
    kind = TextAreaField if area else StringField
    return kind(label, filters=[strip_text],
                validators=[*checks, Length(max=max_length), NoControlCharacters(multiline=area)])


class WorkOrderForm(FlaskForm):
    charger = StringField(_l("Charger (its identity)"), filters=[strip_text], validators=[
        DataRequired(message=_l("Name the charger the technician is to visit.")), Length(max=64)])
    installer_company = _text(_l("Installer company"), _l("Name the installer company."), 120)
    technician_name = _text(_l("Technician or contact person"), None, 120)
    technician_email = EmailField(_l("Technician's e-mail (the private link goes there)"), validators=[
        DataRequired(message=_l("Give the e-mail address the work order is sent to.")), Length(max=254),
        EmailAddress()])
    technician_phone = _text(_l("Technician's phone"), None, 32)
    language = SelectField(_l("Language of the e-mail and page"), choices=LANGUAGES, default="nb",
                           validators=[InputRequired()])
    access_window = _text(_l("Access to the site (when, key, gate code)"), None, 200)
    story = _text(_l("The fault's story"), _l("Tell the technician what is wrong."), 10000, area=True)
    parts_planned = _text(_l("Parts to bring"), None, 5000, area=True)


class CloseForm(FlaskForm):
    reason = _text(_l("Why it is done (needed when the charger has not reported itself working)"), None, 2000,
                   area=True)


class CancelForm(FlaskForm):
    reason = _text(_l("Why the work order is cancelled"), _l("Write why the work order is cancelled."), 2000,
                   area=True)


class SendForm(FlaskForm):
    """The button that sends (or sends again) the private link."""


class MaintenanceForm(FlaskForm):
    site = SelectField(_l("Site"), choices=[], validate_choice=True,
                       validators=[InputRequired(message=_l("Choose the site."))])
    charger = StringField(_l("Charger (its identity; empty for the whole site)"), filters=[strip_text],
                          validators=[Optional(), Length(max=64)])
    starts_at = DateTimeLocalField(_l("Starts (site time)"), format="%Y-%m-%dT%H:%M",
                                   validators=[InputRequired(message=_l("Choose when the work starts."))])
    ends_at = DateTimeLocalField(_l("Ends (site time)"), format="%Y-%m-%dT%H:%M",
                                 validators=[InputRequired(message=_l("Choose when the work ends."))])
    reason = _text(_l("What we will do"), _l("Say what the maintenance is for."), 200)

    def validate_ends_at(self, field) -> None:
        if self.starts_at.data and field.data and field.data <= self.starts_at.data:
            raise ValidationError(_l("The end must come after the start."))


class DeleteForm(FlaskForm):
    """The button that removes a planned maintenance window."""
