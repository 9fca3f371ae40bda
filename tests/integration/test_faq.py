"""/faq: one full-text search on SQLite (FTS5) and PostgreSQL (tsvector), reading in the reader's language,
helpful votes once per visitor, and the staff editor (preview, stable slug). Runs on both engines."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.models import FaqArticle, FaqVote
from portal.services.helpdesk import faq, faq_search
from portal.services.helpdesk.faq import ArticleText
from portal.services.helpdesk.faq_seed import ARTICLES, seed_faq
from tests.factories import make_user


def _article(session, slug, texts, published=True, category="charging"):
    return faq.save_article(session, None, category=category, published=published, slug=slug, actor=None,
                            texts={k: ArticleText(*v) for k, v in texts.items()})


@pytest.fixture
def articles(session):
    _article(session, "favs", {"nb": ("Om lagring", "Du kan ha mange favoritter i appen."),
                               "sv": ("Om sparande", "Du kan ha många favoriter i appen."),
                               "en": ("About saving", "You can keep many favourites in the app.")})
    _article(session, "stations", {"nb": ("Garasjen", "Alle ladestasjoner i garasjen har to uttak.")})
    _article(session, "english-only", {"en": ("Only in English", "The electrician comes on Tuesday.")})
    _article(session, "draft", {"nb": ("Utkast", "Hemmelige favoritter og ladestasjoner.")}, published=False)
    session.commit()


@pytest.mark.parametrize("query, language, slug", [
    ("favoritt", "nb", "favs"),            # finds "favoritter"
    ("ladestasjon", "nb", "stations"),     # finds "ladestasjoner"
    ("Ladestasjon", "nb", "stations"),
    ("favorit", "sv", "favs"),             # finds "favoriter"
    ("favourite", "en", "favs"),
    ("electrician", "nb", "english-only"),  # only in English: still found from a bokmål reader
    ("garasj uttak", "nb", "stations"),    # every word, each as a prefix
])
def test_search_finds_inflected_and_partial_words(session, articles, query, language, slug):
    hits = faq_search.search(session, query, language)
    assert [h.slug for h in hits][:1] == [slug], hits


def test_search_prefers_the_readers_language_and_skips_drafts(session, articles):
    hits = faq_search.search(session, "app", "sv")
    assert [(h.slug, h.language) for h in hits] == [("favs", "sv")]
    assert "draft" not in {h.slug for h in faq_search.search(session, "hemmelige", "nb")}


@pytest.mark.parametrize("query", ['"', "*", "OR", "NEAR(", "a AND", "'; --", "\x00", "ø" * 200, "favoritt:*|!"])
def test_search_never_fails_on_odd_input(session, articles, query):
    faq_search.search(session, query, "nb")  # no exception on either engine


def test_an_edit_updates_the_index_and_keeps_the_slug(session, articles):
    article = faq.article_by_slug(session, "stations")
    faq.save_article(session, article, category="support", published=True, actor=None, slug="new-slug",
                     texts={"nb": ArticleText("Garasjen", "Nå heter det ladepunkter.")})
    session.commit()
    assert article.slug == "stations"
    assert faq_search.search(session, "ladestasjon", "nb") == []
    assert [h.slug for h in faq_search.search(session, "ladepunkt", "nb")] == ["stations"]


def test_the_seed_articles_cover_every_topic_in_three_languages(session):
    assert seed_faq(session) == len(ARTICLES)
    assert seed_faq(session) == 0  # twice is safe
    session.commit()
    for article in faq.published_articles(session):
        assert {t.language for t in article.translations} == {"nb", "sv", "en"}, article.slug
    for query, language in (("favoritt", "nb"), ("ladestasjon", "nb"), ("felsöker", "sv"), ("troubleshoot", "en"),
                            ("spotpris", "nb"), ("tariffgruppe", "nb"), ("autostart", "en"), ("inbjudan", "sv")):
        assert faq_search.search(session, query, language), (query, language)


def test_reading_in_the_readers_language_then_the_others(client, session, articles):
    client.set_cookie("lang", "sv")
    body = client.get("/faq/favs").get_data(as_text=True)
    assert "Om sparande" in body and "Om lagring" not in body
    only_en = client.get("/faq/english-only").get_data(as_text=True)
    assert "Only in English" in only_en
    assert client.get("/faq/favs?lang=en").get_data(as_text=True).count("About saving") >= 1
    assert client.get("/faq/draft").status_code == 404
    assert client.get("/faq/no-such-article").status_code == 404


def test_results_as_you_type_are_a_fragment(client, articles):
    fragment = client.get("/faq?q=favoritt", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and 'data-slug="favs"' in fragment
    page = client.get("/faq?q=favoritt").get_data(as_text=True)
    assert "<html" in page and 'data-slug="favs"' in page


def test_a_visitor_is_counted_once(client, session, articles):
    first = client.post("/faq/favs/helpful", data={"helpful": "yes"}, headers={"HX-Request": "true"})
    assert first.status_code == 200 and "Thank you for your answer." in first.get_data(as_text=True)
    again = client.post("/faq/favs/helpful", data={"helpful": "no"}, headers={"HX-Request": "true"})
    assert "already answered" in again.get_data(as_text=True)
    other_visitor = client.application.test_client()
    other_visitor.environ_base.update(client.environ_base)
    with other_visitor.session_transaction() as s:
        s["csrf_token"] = "test-raw-csrf"
    assert other_visitor.post("/faq/favs/helpful", data={"helpful": "no"}).status_code == 303
    session.expire_all()
    article = faq.article_by_slug(session, "favs")
    assert (article.helpful_yes, article.helpful_no) == (1, 1)
    assert len(session.scalars(select(FaqVote)).all()) == 2
    assert client.post("/faq/favs/helpful", data={"helpful": "maybe"}).status_code == 400


@pytest.mark.parametrize("staff_role", [None, "sales"])
def test_the_editor_is_for_support_and_admins_only(client, session, login, articles, staff_role):
    user = make_user(session, staff_role=staff_role)
    session.commit()
    login(client, user)
    assert client.get("/faq/manage/").status_code == 403
    assert client.post("/faq/manage/new", data={"category": "charging", "title_en": "x", "body_en": "y"}).status_code == 403


def test_staff_preview_then_publish_and_the_slug_stays(client, session, login):
    staff = make_user(session, staff_role="support")
    session.commit()
    login(client, staff)
    data = {"category": "charging", "slug": "cable-lock", "published": "y", "position": "5",
            "title_en": "The cable is locked", "body_en": "Stop the session **first**. <script>x()</script>",
            "action": "preview"}
    preview = client.post("/faq/manage/new", data=data)
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "<strong>first</strong>" in body and "<script>x()" not in body
    assert session.scalar(select(FaqArticle)) is None  # a preview saves nothing
    saved = client.post("/faq/manage/new", data={**data, "action": "save"})
    assert saved.status_code == 303
    article = session.scalar(select(FaqArticle))
    assert article.slug == "cable-lock"
    edit = client.post(f"/faq/manage/{article.id}", data={**data, "slug": "renamed", "title_en": "Locked cable",
                                                         "title_nb": "Låst kabel", "body_nb": "Stopp først.",
                                                         "action": "save"})
    assert edit.status_code == 303
    session.expire_all()
    article = session.get(FaqArticle, article.id)
    assert article.slug == "cable-lock" and {t.language for t in article.translations} == {"en", "nb"}
    assert "Locked cable" in client.get("/faq/cable-lock").get_data(as_text=True)


@pytest.mark.parametrize("data, message", [
    ({"category": "charging"}, "at least one language"),
    ({"category": "charging", "title_nb": "Bare tittel"}, "both a title and a text"),
    ({"category": "charging", "slug": "Not A Slug", "title_en": "T", "body_en": "B"}, "lower-case letters"),
    ({"category": "charging", "slug": "manage", "title_en": "T", "body_en": "B"}, "reserved"),
    ({"category": "nonsense", "title_en": "T", "body_en": "B"}, "Not a valid choice"),
])
def test_the_editor_explains_bad_input(client, session, login, data, message):
    staff = make_user(session, staff_role="admin")
    session.commit()
    login(client, staff)
    response = client.post("/faq/manage/new", data={**data, "action": "save"})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert session.scalar(select(FaqArticle)) is None
