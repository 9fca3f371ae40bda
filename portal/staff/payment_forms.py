"""The staff forms of payments: bank file upload, putting a payment on a statement, overpayments, promises."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, HiddenField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal.forms_common import NoControlCharacters, strip_text


class BankFileForm(FlaskForm):
    bank_file = FileField(_l("Bank file (camt.054 XML)"))


class AssignForm(FlaskForm):
    payment_id = IntegerField(validators=[InputRequired(message=_l("Choose a payment."))])
    number = StringField(_l("Statement number (empty: the suggested one)"), filters=[strip_text],
                         validators=[Optional(), Length(max=32), NoControlCharacters()])


class DeclineForm(FlaskForm):
    payment_id = IntegerField(validators=[InputRequired(message=_l("Choose a payment."))])


class SurplusForm(FlaskForm):
    statement_id = IntegerField(validators=[InputRequired(message=_l("Choose a statement."))])
    action = SelectField(_l("What to do with the surplus"), choices=[
        SelectChoice("carry", _l("Carry it to the next statement")), SelectChoice("refund", _l("Refund it"))],
        validators=[DataRequired(message=_l("Choose carry or refund."))])


class PromiseForm(FlaskForm):
    statement_id = HiddenField(validators=[DataRequired(message=_l("Choose a statement."))])
    until = DateField(_l("Promised to pay by"), validators=[InputRequired(message=_l("Give the date they promised."))])
    note = TextAreaField(_l("Note"), filters=[strip_text], validators=[
        DataRequired(message=_l("Write what was agreed.")), Length(max=2000), NoControlCharacters(multiline=True)])
