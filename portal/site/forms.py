"""One form per site-management use case."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, EmailField, RadioField, SelectChoice, SelectField, SelectMultipleField, StringField, TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.forms_common import EmailAddress, Price
from portal.services.billing.pricing import parse_price, to_minor
from portal.services.sites.site_admin import ChargerChange, TariffData


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def price(text: str | None) -> Decimal:
    """A validated price field's value; empty means 0."""
    return parse_price(text) if text not in (None, "") else Decimal(0)


class EmptyForm(FlaskForm):
    """Button-only posts (detach, resend, revoke, remove): CSRF only."""


class TariffForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120)],
                       description=_l("Housing company first, e.g. \"Solbakken – residents\"."))
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    pricing_type = RadioField(_l("Pricing"), default="standard", validators=[InputRequired()], choices=[
        SelectChoice("standard", _l("Standard: a fixed price per kWh")),
        SelectChoice("spot", _l("Spot: the hourly spot price plus markup")),
        SelectChoice("not_allowed", _l("Charging not allowed")),
    ])
    energy_fee = StringField(_l("Energy fee per kWh incl. VAT (kr)"), validators=[Optional(), Price()])
    min_price = StringField(_l("Minimum price per session (kr)"), default="0", validators=[Optional(), Price()])
    preauth = StringField(
        _l("Pre-authorisation amount (kr)"), default="0", validators=[Optional(), Price()],
        description=_l("Only used once card payment is available. Residents are invoiced on monthly statements "
                       "today, so nothing is reserved on anyone's card."))
    spot_markup = StringField(_l("Markup per kWh excl. VAT (kr)"), default="0", validators=[Optional(), Price()])
    spot_markup_percent = StringField(_l("Markup in percent of the spot price"), default="0",
                                      validators=[Optional(), Price(message=_l("Enter a percentage like 10 or 12,5."))])
    spot_fallback = StringField(_l("Fallback price per kWh incl. VAT when no spot price is known (kr)"),
                                validators=[Optional(), Price()])
    plans = MultiCheckboxField(_l("Only for holders of these subscriptions"), coerce=int, choices=[])
    user_groups = MultiCheckboxField(_l("… or for members of these user groups"), coerce=int, choices=[])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.pricing_type.data == "standard" and not self.energy_fee.data:
            self.energy_fee.errors = [*self.energy_fee.errors, _l("A standard tariff needs a price per kWh.")]
            ok = False
        if self.pricing_type.data == "spot" and not self.spot_fallback.data:
            self.spot_fallback.errors = [*self.spot_fallback.errors,
                                         _l("A spot tariff needs a fallback price for hours without a spot price.")]
            ok = False
        return ok

    def to_data(self) -> TariffData:
        return TariffData(
            name=self.name.data.strip(), description=(self.description.data or "").strip(),
            pricing_type=self.pricing_type.data, energy_fee=price(self.energy_fee.data),
            min_price_minor=to_minor(price(self.min_price.data)), preauth_minor=to_minor(price(self.preauth.data)),
            spot_markup=price(self.spot_markup.data), spot_markup_percent=price(self.spot_markup_percent.data),
            spot_fallback=price(self.spot_fallback.data), plan_ids=list(self.plans.data or []),
            group_ids=list(self.user_groups.data or []),
        )


class NameForm(FlaskForm):
    """Create something that only needs a name (tariff group, user group)."""

    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120)])


class LinkChargePointsForm(FlaskForm):
    charge_points = MultiCheckboxField(_l("Charge points using this group"), coerce=int, choices=[])


class PlanForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    monthly_fee = StringField(_l("Monthly fee incl. VAT (kr)"), default="0", validators=[Optional(), Price()])
    active = BooleanField(_l("Open: residents can subscribe themselves"), default=True)


class InviteForm(FlaskForm):
    emails = TextAreaField(_l("E-mail addresses, one per line"), validators=[InputRequired(), Length(max=50_000)])


class EmailForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[InputRequired(), Length(max=254), EmailAddress()])


class ChargerForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    status = RadioField(_l("Status"), choices=[SelectChoice("enabled", _l("Enabled")),
                                               SelectChoice("disabled", _l("Disabled"))],
                        validators=[InputRequired()])
    cp_type = SelectField(_l("Type"), choices=[
        SelectChoice("public", _l("Public")), SelectChoice("private", _l("Private (residents with access)")),
        SelectChoice("personal", _l("Personal (home)")),
    ], validators=[InputRequired()])
    tariff_group_id = SelectField(_l("Tariff group"), coerce=int, choices=[])
    owner_email = EmailField(_l("Owner's e-mail (personal chargers; empty removes the owner)"),
                             validators=[Optional(), Length(max=254), EmailAddress()])

    def to_change(self) -> ChargerChange:
        return ChargerChange(
            name=self.name.data or "", enabled=self.status.data == "enabled", cp_type=self.cp_type.data,
            tariff_group_id=self.tariff_group_id.data or None, owner_email=(self.owner_email.data or "").strip(),
        )


class RoleForm(FlaskForm):
    role = RadioField(_l("Role"), choices=[SelectChoice("board", _l("Board member")),
                                           SelectChoice("resident", _l("Resident"))], validators=[InputRequired()])


class PlanOpenForm(FlaskForm):
    open = RadioField(_l("New subscribers"), choices=[SelectChoice("open", _l("Open")),
                                                      SelectChoice("closed", _l("Closed"))],
                      validators=[InputRequired()])


class PlanPriceForm(FlaskForm):
    fee = StringField(_l("New monthly fee incl. VAT (kr)"), validators=[InputRequired(), Price()])
