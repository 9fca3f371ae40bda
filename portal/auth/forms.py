"""Log-in and account forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import EqualTo, InputRequired, Length

from portal.forms_common import EmailAddress
from portal.services.accounts import PASSWORD_MAX, PASSWORD_MIN

# Each language is named in itself, so anyone can find their own.
LANGUAGE_CHOICES = [SelectChoice("nb", "Norsk (bokmål)", render_kw={"lang": "nb"}),
                    SelectChoice("sv", "Svenska", render_kw={"lang": "sv"}),
                    SelectChoice("en", "English", render_kw={"lang": "en"})]


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[InputRequired(), Length(max=254), EmailAddress()])
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=200)])
    next = HiddenField()


def _required():
    return InputRequired(message=_l("Please fill in this field."))


def _email_validators():
    return [_required(), Length(max=254, message=_l("An e-mail address has at most %(max)d characters.")),
            EmailAddress()]


def _new_password_validators():
    return [_required(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX,
                                message=_l("Use %(min)d to %(max)d characters."))]


def _confirm_validators(field: str):
    return [_required(), EqualTo(field, message=_l("The two passwords are not the same."))]


def _language_field():
    return SelectField(_l("Language"), choices=LANGUAGE_CHOICES, default="nb",
                       validators=[_required()], validate_choice=True)


class RegisterForm(FlaskForm):
    name = StringField(_l("Name"), validators=[_required(), Length(max=120, message=_l(
        "Use at most %(max)d characters."))])
    email = EmailField(_l("E-mail"), validators=_email_validators())
    password = PasswordField(_l("Password"), validators=_new_password_validators())
    confirm = PasswordField(_l("Repeat the password"), validators=_confirm_validators("password"))
    language = _language_field()
    next = HiddenField(validators=[Length(max=500)])


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=_email_validators())


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=_new_password_validators())
    confirm = PasswordField(_l("Repeat the new password"), validators=_confirm_validators("password"))


class ProfileForm(FlaskForm):
    name = StringField(_l("Name"), validators=[_required(), Length(max=120, message=_l(
        "Use at most %(max)d characters."))])
    language = _language_field()


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[_required(), Length(
        max=200, message=_l("Use at most %(max)d characters."))])
    new_password = PasswordField(_l("New password"), validators=_new_password_validators())
    confirm = PasswordField(_l("Repeat the new password"), validators=_confirm_validators("new_password"))
