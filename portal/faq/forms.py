"""The FAQ article editor: category, publication, and title + Markdown body per language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, NumberRange, Optional, Regexp

from portal.faq import CATEGORY_LABELS
from portal.forms_common import NoControlCharacters
from portal.services.helpdesk.faq import LANGUAGE_ORDER, RESERVED_SLUGS  # noqa: F401  (used by the editor view)


class ArticleForm(FlaskForm):
    slug = StringField(_l("Address (slug), set once: lower-case letters, digits and dashes"), validators=[
        Optional(), Length(max=70),
        Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", message=_l("Use lower-case letters, digits and dashes only."))])
    category = SelectField(_l("Category"), choices=[SelectChoice(k, v) for k, v in CATEGORY_LABELS.items()], validate_choice=True)
    position = IntegerField(_l("Order within the category"), default=100,
                            validators=[Optional(), NumberRange(min=0, max=10000)])
    published = BooleanField(_l("Published (visible to everyone)"))
    title_nb = StringField(_l("Title (bokmål)"), validators=[Optional(), Length(max=200), NoControlCharacters()])
    body_nb = TextAreaField(_l("Text (bokmål, Markdown)"), validators=[Optional(), Length(max=20000)])
    title_sv = StringField(_l("Title (Swedish)"), validators=[Optional(), Length(max=200), NoControlCharacters()])
    body_sv = TextAreaField(_l("Text (Swedish, Markdown)"), validators=[Optional(), Length(max=20000)])
    title_en = StringField(_l("Title (English)"), validators=[Optional(), Length(max=200), NoControlCharacters()])
    body_en = TextAreaField(_l("Text (English, Markdown)"), validators=[Optional(), Length(max=20000)])

    def texts(self) -> dict:
        from portal.services.helpdesk.faq import ArticleText

        return {code: ArticleText(getattr(self, f"title_{code}").data or "", getattr(self, f"body_{code}").data or "")
                for code in LANGUAGE_ORDER}

    def fill(self, article) -> None:
        self.category.data, self.published.data, self.position.data = article.category, article.published, article.position
        for t in article.translations:
            getattr(self, f"title_{t.language}").data = t.title
            getattr(self, f"body_{t.language}").data = t.body_md


class MissingForm(FlaskForm):
    """After "not helpful": what the reader missed (optional, short)."""

    missing = TextAreaField(_l("What were you looking for? (optional)"), validators=[
        Optional(), Length(max=500, message=_l("Write at most 500 characters.")), NoControlCharacters(multiline=True)])
