"""One form per staff console use case. Every change carries a reason for the audit log."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, DateField, HiddenField, IntegerField, PasswordField, RadioField, SelectChoice, SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from portal.services.charging.after_close import RESIDENT_REASONS

REASON = dict(validators=[InputRequired(message=_l("Write why you do this: it goes in the audit log.")),
                          Length(max=500)])


class ActionForm(FlaskForm):
    """Every remote action: the fields the action needs, a reason, and a confirmation step."""

    connector = IntegerField(_l("Outlet"), validators=[Optional(), NumberRange(min=0, max=99)])
    who = StringField(_l("Resident's e-mail or RFID tag"), validators=[Optional(), Length(max=254)])
    reset_type = RadioField(_l("Kind of reset"), default="Soft", choices=[
        SelectChoice("Soft", _l("Soft (restart the software)")), SelectChoice("Hard", _l("Hard (power cycle)"))])
    message = SelectField(_l("Message to ask for"), default="StatusNotification", choices=[
        SelectChoice(m, m) for m in ("StatusNotification", "MeterValues", "BootNotification", "Heartbeat")])
    keys = StringField(_l("Keys (empty for all; separate with commas)"), validators=[Optional(), Length(max=500)])
    key = StringField(_l("Configuration key"), validators=[Optional(), Length(max=50)])
    value = StringField(_l("New value"), validators=[Optional(), Length(max=500)])
    secret_choice = RadioField(_l("New secret"), default="generate", choices=[
        SelectChoice("generate", _l("Let the portal make one (recommended; nobody ever sees it)")),
        SelectChoice("type", _l("Type one (16–40 characters, twice)"))])
    secret = PasswordField(_l("New charger secret (16–40 characters)"), validators=[Optional(), Length(max=40)])
    operative = RadioField(_l("Status"), default="enabled", choices=[
        SelectChoice("enabled", _l("Enabled")), SelectChoice("disabled", _l("Disabled"))])
    transaction = IntegerField(_l("Session"), validators=[Optional()])
    reason = TextAreaField(_l("Reason"), **REASON)
    confirmed = HiddenField(default="")


class CloseSessionForm(FlaskForm):
    end_reading = RadioField(_l("End reading"), default="last", validators=[InputRequired()], choices=[
        SelectChoice("last", _l("The last meter value")),
        SelectChoice("none", _l("None (no energy)"))])
    billing = RadioField(_l("Billing"), default="not_billed", validators=[InputRequired()], choices=[
        SelectChoice("billed", _l("Billed at the metered energy")),
        SelectChoice("not_billed", _l("Not billed (nothing to pay, no minimum price)"))])
    reason = TextAreaField(_l("Internal reason (staff only, never shown to the resident)"), **REASON)
    resident_reason = RadioField(
        _l("What the resident is told"),
        validators=[InputRequired(message=_l("Choose what the resident is told."))],
        choices=[SelectChoice(code, _l(text)) for code, text in RESIDENT_REASONS.items()])
    override = BooleanField(_l("The charger reported this session a few minutes ago: close it by hand anyway"))
    override_reason = TextAreaField(_l("Why close it although the charger may still be charging"),
                                    validators=[Optional(), Length(max=500)])
    confirmed = HiddenField(default="")


class EmptyForm(FlaskForm):
    """A button-only post (CSRF only)."""


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), **REASON)


class RoleForm(FlaskForm):
    role = SelectField(_l("Staff role"), default="", choices=[
        SelectChoice("", _l("None (no console)")), SelectChoice("support", _l("Support")),
        SelectChoice("sales", _l("Sales")), SelectChoice("admin", _l("Operator admin"))])
    reason = TextAreaField(_l("Reason"), **REASON)


class AgreementForm(FlaskForm):
    agreement_status = SelectField(_l("Operating agreement"), choices=[
        SelectChoice("none", _l("No agreement")), SelectChoice("active", _l("Active agreement")),
        SelectChoice("ended", _l("Agreement ended"))])
    reason = TextAreaField(_l("Reason"), **REASON)


class LogFilterForm(FlaskForm):
    """GET filters of the message log (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    action = SelectField(_l("Action"), default="", choices=[], validate_choice=False)
    direction = SelectField(_l("Direction"), default="", choices=[
        SelectChoice("", _l("Both")), SelectChoice("in", _l("From the charger")),
        SelectChoice("out", _l("To the charger"))])
    errors_only = BooleanField(_l("Errors only"))
    since = StringField(_l("From"), validators=[Optional()])
    until = StringField(_l("To"), validators=[Optional()])


class AuditFilterForm(FlaskForm):
    """GET filters of the staff audit log (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    who = SelectField(_l("Who"), default="", choices=[], validate_choice=False)
    what = SelectField(_l("What"), default="", choices=[], validate_choice=False)
    kind = SelectField(_l("Object"), default="", choices=[], validate_choice=False)
    object_id = IntegerField(_l("Object number"), validators=[Optional(), NumberRange(min=1, max=2**31 - 1)])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To (inclusive)"), validators=[Optional()])


class TicketFilterForm(FlaskForm):
    """GET filters of the ticket queue."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), default="active", validate_choice=False, choices=[
        SelectChoice("active", _l("Not finished")), SelectChoice("", _l("All")), SelectChoice("new", _l("New")),
        SelectChoice("open", _l("Open")), SelectChoice("waiting_for_customer", _l("Waiting for the customer")),
        SelectChoice("resolved", _l("Resolved")), SelectChoice("closed", _l("Closed"))])
    category = SelectField(_l("Category"), default="", choices=[], validate_choice=False)
    site = SelectField(_l("Site"), default="", choices=[], validate_choice=False)
    assignee = SelectField(_l("Assignee"), default="", choices=[], validate_choice=False)


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Message"), validators=[InputRequired(message=_l("Write a message.")),
                                                    Length(max=5000)])


class TicketStatusForm(FlaskForm):
    status = SelectField(_l("Status"), choices=[
        SelectChoice("open", _l("Open")), SelectChoice("waiting_for_customer", _l("Waiting for the customer")),
        SelectChoice("resolved", _l("Resolved")), SelectChoice("closed", _l("Closed"))])
    reason = StringField(_l("Why (optional)"), validators=[Optional(), Length(max=500)])


class AssignForm(FlaskForm):
    assignee = SelectField(_l("Assignee"), choices=[], validate_choice=False)


class PipelineFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(_l("Status"), default="", choices=[], validate_choice=False)
    assignee = SelectField(_l("Assignee"), default="", choices=[], validate_choice=False)
    due = BooleanField(_l("Next step due"))


class LeadForm(FlaskForm):
    status = SelectField(_l("Status"), choices=[
        SelectChoice("new", _l("New")), SelectChoice("contacted", _l("Contacted")),
        SelectChoice("offer_sent", _l("Offer sent")), SelectChoice("won", _l("Won")), SelectChoice("lost", _l("Lost"))])
    assignee = SelectField(_l("Assignee"), choices=[], validate_choice=False)
    next_step_on = DateField(_l("Next step on"), validators=[Optional()])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=10000)])
    reason = StringField(_l("Why (optional)"), validators=[Optional(), Length(max=500)])


class NewSiteForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=160)])
    slug = StringField(_l("Short name in addresses (a-z, 0-9 and -)"),
                       validators=[InputRequired(), Length(min=3, max=80)])
    org_number = StringField(_l("Organisation number"), validators=[InputRequired(), Length(max=20)])
    address = StringField(_l("Address"), validators=[InputRequired(), Length(max=200)])
    postcode = StringField(_l("Postcode"), validators=[Optional(), Length(max=10)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=80)])
    price_area = SelectField(_l("Price area"), choices=[
        SelectChoice(a, a) for a in ("NO1", "NO2", "NO3", "NO4", "NO5", "SE1", "SE2", "SE3", "SE4")])
    currency = SelectField(_l("Currency"), choices=[SelectChoice("NOK", "NOK"), SelectChoice("SEK", "SEK")])


class OrderForm(FlaskForm):
    status = SelectField(_l("Status"), choices=[
        SelectChoice("received", _l("Received")), SelectChoice("installer_booked", _l("Electrician booked")),
        SelectChoice("installed", _l("Installed")), SelectChoice("configured", _l("Configured")),
        SelectChoice("cancelled", _l("Cancelled"))])
    assignee = SelectField(_l("Assignee"), choices=[], validate_choice=False)
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=10000)])
    reason = StringField(_l("Why (optional)"), validators=[Optional(), Length(max=500)])
