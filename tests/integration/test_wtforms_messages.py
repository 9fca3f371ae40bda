"""WTForms' own messages come in the page's language, from a catalogue parsed once per process."""
from __future__ import annotations

from babel import support
from flask_babel import force_locale
from wtforms.i18n import messages_path

from portal.web import _WTFormsCatalogue

REQUIRED = "This field is required."


def _parsed_now(locale: str) -> str:
    return support.Translations.load(messages_path(), [locale], domain="wtforms").ugettext(REQUIRED)


def test_wtforms_messages_follow_the_locale_and_force_locale(app):
    catalogue = _WTFormsCatalogue()
    with app.test_request_context("/", headers={"Cookie": "lang=sv"}):
        assert catalogue.ugettext(REQUIRED) == _parsed_now("sv") != REQUIRED
        with force_locale("nb"):
            assert catalogue.ugettext(REQUIRED) == _parsed_now("nb") != _parsed_now("sv")
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert catalogue.ugettext(REQUIRED) == REQUIRED
