"""WTForms' own messages come in the page's language, from a catalogue parsed once per process."""
from __future__ import annotations

from flask_babel import force_locale

from portal.web import _WTFormsCatalogue

REQUIRED = "This field is required."
REQUIRED_SV = "Det här fältet är obligatoriskt."  # what a Swedish reader must see (WTForms' catalogue)
REQUIRED_NB = "Dette feltet er påkrevd."


def test_wtforms_messages_follow_the_locale_and_force_locale(app):
    catalogue = _WTFormsCatalogue()
    with app.test_request_context("/", headers={"Cookie": "lang=sv"}):
        assert catalogue.ugettext(REQUIRED) == REQUIRED_SV
        with force_locale("nb"):
            assert catalogue.ugettext(REQUIRED) == REQUIRED_NB
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert catalogue.ugettext(REQUIRED) == REQUIRED
