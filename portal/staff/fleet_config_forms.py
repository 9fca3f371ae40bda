"""Forms of the fleet pages: a configuration template (name, vendor, model, one `Key=Value` per line)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from portal.services.fleet.config_templates import parse_entries

LINE_PROBLEMS = {
    "no_equals": _l("Line %(n)d: write the key, an equals sign and the value (Key=Value)."),
    "no_key": _l("Line %(n)d: the key is missing before the equals sign."),
    "key_too_long": _l("Line %(n)d: a key is at most 50 characters."),
    "bad_key": _l("Line %(n)d: a key has no spaces and only plain letters, digits and signs."),
    "value_too_long": _l("Line %(n)d: a value is at most 500 characters."),
    "duplicate": _l("Line %(n)d: this key is already given above."),
    "secret": _l("Line %(n)d: the charger secret is never part of a template; change it from the charger page."),
    "empty": _l("Give at least one key and value."),
}


class TemplateForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(message=_l("Give the template a name.")),
                                                Length(max=80)])
    vendor = StringField(_l("Vendor (as the charger reports it; empty for the default template)"),
                         validators=[Optional(), Length(max=50)])
    model = StringField(_l("Model (as the charger reports it; empty for the default template)"),
                        validators=[Optional(), Length(max=50)])
    entries = TextAreaField(_l("Keys and values, one Key=Value per line"),
                            validators=[InputRequired(message=_l("Give at least one key and value.")),
                                        Length(max=20000)])

    def validate_entries(self, field: TextAreaField) -> None:
        from wtforms.validators import ValidationError

        parsed, problems = parse_entries(field.data or "")
        self.parsed = parsed
        if problems:
            raise ValidationError(" ".join(str(LINE_PROBLEMS[code]) % {"n": n} for n, code in problems[:5]))

    def validate(self, extra_validators: dict | None = None) -> bool:
        """Field rules, then: vendor and model together (both empty: the default template)."""
        valid = super().validate(extra_validators)
        if bool((self.vendor.data or "").strip()) != bool((self.model.data or "").strip()):
            self.model.errors = [*self.model.errors, _l("Give both vendor and model, or neither for the default template.")]
            valid = False
        return valid
