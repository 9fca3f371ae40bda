"""Log-in and account forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import EqualTo, InputRequired, Length, Optional, ValidationError

from portal import phones
from portal.forms_common import EmailAddress, NoControlCharacters, strip_text
from portal.security.passwords import PASSWORD_MAX, PASSWORD_MIN, is_weak

# Each language is named in itself, so anyone can find their own.
LANGUAGE_CHOICES = [SelectChoice("nb", "Norsk (bokmål)", render_kw={"lang": "nb"}),
                    SelectChoice("sv", "Svenska", render_kw={"lang": "sv"}),
                    SelectChoice("en", "English", render_kw={"lang": "en"})]


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[InputRequired(), Length(max=254), EmailAddress()])
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me logged in on this device"), default=False)
    next = HiddenField()


# Required and length messages are WTForms' own: Flask-WTF shows them in nb, sv and en already.
def _email_validators():
    return [InputRequired(), Length(max=254), EmailAddress()]


class NotCommon:
    """Refuse common and breached-pattern passwords (portal.security.passwords); `email_field` names the
    form's e-mail field, else the logged-in user's address is used."""

    def __init__(self, email_field: str | None = None) -> None:
        self.email_field = email_field

    def __call__(self, form, field) -> None:
        email = ""
        if self.email_field and getattr(form, self.email_field, None) is not None:
            email = form[self.email_field].data or ""
        elif current_user and current_user.is_authenticated:
            email = current_user.email
        if field.data and is_weak(field.data, email=email):
            raise ValidationError(_l("This password is too common or too easy to guess. "
                                     "A few unrelated words make a good one."))


def _new_password_validators(email_field: str | None = None):
    return [InputRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX), NotCommon(email_field)]


def _confirm_validators(field: str):
    return [InputRequired(), EqualTo(field, message=_l("The two passwords are not the same."))]


def _language_field():
    return SelectField(_l("Language"), choices=LANGUAGE_CHOICES, default="nb",
                       validators=[InputRequired()], validate_choice=True)


class RegisterForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120), NoControlCharacters()])
    email = EmailField(_l("E-mail"), validators=_email_validators())
    password = PasswordField(_l("Password"), validators=_new_password_validators("email"))
    confirm = PasswordField(_l("Repeat the password"), validators=_confirm_validators("password"))
    language = _language_field()
    next = HiddenField()  # only a same-site path is followed (safe_next)


class VerifyForm(FlaskForm):
    password = PasswordField(_l("The password you chose"), validators=[InputRequired(), Length(max=200)])


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=_email_validators())


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=_new_password_validators())
    confirm = PasswordField(_l("Repeat the new password"), validators=_confirm_validators("password"))


class PhoneNumber:
    """A Norwegian or Swedish number in any usual form; stored in E.164 (portal/phones.py). A number without a
    country code is read in the country of the language chosen on the same form."""

    MESSAGES = {"invalid": _l("That is not a phone number we can read. Write it as you would dial it, "
                              "for example 912 34 567 or +46 70 123 45 67."),
                "country": _l("Only Norwegian and Swedish phone numbers can be used.")}

    def __call__(self, form, field) -> None:
        language = form.language.data if hasattr(form, "language") else None
        try:
            field.data = phones.to_e164(field.data or "", region=phones.region_for(language))
        except phones.PhoneError as exc:
            raise ValidationError(self.MESSAGES[exc.code]) from None


class ProfileForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120), NoControlCharacters()])
    phone = StringField(_l("Phone (optional)"), filters=[strip_text],
                        validators=[Optional(), Length(max=32), NoControlCharacters(), PhoneNumber()])
    language = _language_field()


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[InputRequired(), Length(max=200)])
    new_password = PasswordField(_l("New password"), validators=_new_password_validators())
    confirm = PasswordField(_l("Repeat the new password"), validators=_confirm_validators("new_password"))


class NotificationsForm(FlaskForm):
    """Which notification e-mails the user wants (each can be turned off)."""

    session_done = BooleanField(_l("When a charging session has finished, with the receipt"))
    session_stopped = BooleanField(_l("When the charger stops my charging by itself (fault, power cut)"))
    start_failed = BooleanField(_l("When a start I asked for never began"))
    statement = BooleanField(_l("My monthly statement"))

    KINDS = ("session_done", "session_stopped", "start_failed", "statement")
