"""FAQ search by part of a compound word and with one typo, the same on SQLite (FTS5 trigram) and
PostgreSQL (pg_trgm). Runs on both engines."""
from __future__ import annotations

import pytest

from portal.services.helpdesk import faq, faq_search
from portal.services.helpdesk.faq import ArticleText


def _article(session, slug, texts, published=True):
    return faq.save_article(session, None, category="prices", published=published, slug=slug, actor=None,
                            texts={k: ArticleText(*v) for k, v in texts.items()})


@pytest.fixture
def articles(session):
    _article(session, "statement", {
        "nb": ("Månedsoppgjøret", "Styret får månedsoppgjøret med alle ladeøktene den første virkedagen."),
        "sv": ("Månadsavräkningen", "Styrelsen får månadsavräkningen med alla laddsessioner varje månad."),
        "en": ("The monthly statement", "The board gets the monthly statement with every session.")})
    _article(session, "invoice", {
        "nb": ("Faktura og betaling", "Fakturaen kommer på e-post og betales innen forfallsdatoen."),
        "sv": ("Faktura och betalning", "Fakturan kommer med e-post och betalas före förfallodagen."),
        "en": ("Invoice and payment", "The invoice comes by e-mail and is paid by the due date.")})
    _article(session, "hidden", {"nb": ("Utkast", "Hemmelig kvartalsoppgjøret.")}, published=False)
    session.commit()


@pytest.mark.parametrize("query, language, slug", [
    ("oppgjøret", "nb", "statement"),      # the tail of "månedsoppgjøret"
    ("oppgjoret", "nb", "statement"),      # typed without ø
    ("avräkningen", "sv", "statement"),    # the tail of "månadsavräkningen"
    ("sessioner", "sv", "statement"),      # the tail of "laddsessioner"
    ("fakutra", "nb", "invoice"),          # two letters swapped
    ("betalnig", "sv", "invoice"),         # a letter missing
    ("forfallsdaten", "nb", "invoice"),    # a letter missing inside a compound
    ("invoise", "en", "invoice"),          # a letter wrong
])
def test_parts_of_compounds_and_one_typo_are_found(session, articles, query, language, slug):
    hits = faq_search.search(session, query, language)
    assert [h.slug for h in hits][:1] == [slug], hits
    assert hits[0].language == language


def test_two_typos_or_a_short_typo_find_nothing_and_drafts_stay_hidden(session, articles):
    assert faq_search.search(session, "fkautra", "nb") == []    # two changes
    assert faq_search.search(session, "fakt", "nb")             # a prefix still works
    assert faq_search.search(session, "faxt", "nb") == []       # short words are not guessed
    assert faq_search.search(session, "kvartalsoppgjøret", "nb") == []


def test_every_word_must_be_found(session, articles):
    assert [h.slug for h in faq_search.search(session, "fakutra forfallsdatoen", "nb")] == ["invoice"]
    assert faq_search.search(session, "fakutra månedsoppgjøret", "nb") == []


def test_the_word_check_alone():
    tokens = {"manedsoppgjoret", "faktura"}
    assert faq_search.word_matches("oppgjoret", tokens) == 0
    assert faq_search.word_matches("fakutra", tokens) == 1
    assert faq_search.word_matches("opgjoret", tokens) == 1
    assert faq_search.word_matches("regning", tokens) is None


@pytest.mark.parametrize("query, language, slugs", [
    ("oppgjøret", "nb", {"monthly-statement", "statement-correction"}),  # tail of "månedsoppgjøret"
    ("tilleggsoppgjør", "nb", {"monthly-statement", "statement-correction"}),
    ("avräkningen", "sv", {"monthly-statement", "statement-correction"}),  # tail of "månadsavräkningen"
    ("kreditnotta", "nb", {"statement-correction"}),                        # one letter too many
    ("betlaning", "sv", {"invoice-and-payment"}),                          # two letters swapped
    ("statment", "en", {"monthly-statement", "statement-correction"}),     # one letter missing
    ("invoise", "en", {"invoice-and-payment"}),
])
def test_the_billing_articles_are_found_by_parts_and_with_a_typo(session, query, language, slugs):
    from portal.services.helpdesk.faq_seed import seed_faq

    seed_faq(session)
    session.commit()
    hits = faq_search.search(session, query, language)
    assert hits and hits[0].slug in slugs and hits[0].language == language, hits


@pytest.mark.parametrize("language, names, wrong", [
    ("nb", ("Om lading", "Priser, faktura og betaling"), "Lader nå"),
    ("sv", ("Om laddning", "Priser, fakturor och betalning"), "Laddar"),
    ("en", ("About charging", "Prices, invoices and payment"), None),
])
def test_category_names_are_right_in_each_language(client, session, language, names, wrong):
    from portal.services.helpdesk.faq_seed import seed_faq

    seed_faq(session)
    session.commit()
    client.set_cookie("lang", language)
    body = client.get("/faq").get_data(as_text=True)
    for name in names:
        assert f"<h2>{name}</h2>" in body
    if wrong:
        assert f"<h2>{wrong}</h2>" not in body
