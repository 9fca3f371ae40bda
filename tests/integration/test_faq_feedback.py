"""FAQ readers' feedback: "not helpful" asks what was missing (optional, short), support reads it per
article; "no results" suggests the most read articles and the support form. Runs on both engines."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.models import FaqVote
from portal.services.helpdesk import faq
from portal.services.helpdesk.faq import ArticleText
from tests.factories import make_user

HX = {"HX-Request": "true"}


@pytest.fixture
def articles(session):
    for slug, title, body in (("pay", "Paying the invoice", "Pay by the due date."),
                              ("start", "Starting a session", "Scan the sticker."),
                              ("stop", "Stopping", "Press stop.")):
        faq.save_article(session, None, category="charging", published=True, slug=slug, actor=None,
                         texts={"en": ArticleText(title, body)})
    session.commit()


def test_not_helpful_asks_what_was_missing_and_support_reads_it(client, session, login, articles):
    voted = client.post("/faq/pay/helpful", data={"helpful": "no"}, headers=HX)
    body = voted.get_data(as_text=True)
    assert voted.status_code == 200 and 'data-testid="faq-missing-form"' in body
    assert "What were you looking for? (optional)" in body
    too_long = client.post("/faq/pay/missing", data={"missing": "x" * 501}, headers=HX)
    assert too_long.status_code == 422 and "Write at most 500 characters." in too_long.get_data(as_text=True)
    assert "x" * 501 in too_long.get_data(as_text=True)  # what was typed is kept
    sent = client.post("/faq/pay/missing", data={"missing": "How to pay  by\ne-invoice (eFaktura)"}, headers=HX)
    assert sent.status_code == 200 and "support reads what you wrote" in sent.get_data(as_text=True)
    assert 'data-testid="faq-missing-form"' not in sent.get_data(as_text=True)
    assert session.scalar(select(FaqVote.missing)) == "How to pay by e-invoice (eFaktura)"
    # the reader without JS: the form is on the page after the vote's redirect, and a plain POST works
    other = client.application.test_client()
    other.environ_base.update(client.environ_base)
    with other.session_transaction() as s:
        s["csrf_token"] = "test-raw-csrf"
    assert other.post("/faq/pay/helpful", data={"helpful": "no"}).status_code == 303
    assert 'data-testid="faq-missing-form"' in other.get("/faq/pay").get_data(as_text=True)
    assert other.post("/faq/pay/missing", data={"missing": "Which bank account?"}).status_code == 303

    support = make_user(session, staff_role="support")
    session.commit()
    login(client, support)
    page = client.get("/faq/manage/feedback").get_data(as_text=True)
    section = re.search(r'data-slug="pay">(.*?)</section>', page, re.S).group(1)
    texts = re.findall(r'data-testid="faq-missing-text">.*?</small> ([^<]*)</li>', section)
    assert sorted(texts) == ["How to pay by e-invoice (eFaktura)", "Which bank account?"]
    assert 'data-slug="start"' not in page  # nobody found it unhelpful


def test_only_a_not_helpful_answer_can_carry_what_was_missing(client, session, login, articles):
    assert client.post("/faq/start/missing", data={"missing": "spam"}, headers=HX).status_code == 422
    client.post("/faq/start/helpful", data={"helpful": "yes"}, headers=HX)
    assert client.post("/faq/start/missing", data={"missing": "spam"}, headers=HX).status_code == 422
    assert session.scalar(select(FaqVote.missing)) == ""


@pytest.mark.parametrize("staff_role", [None, "sales"])
def test_the_feedback_page_is_for_support_only(client, session, login, articles, staff_role):
    assert client.get("/faq/manage/feedback").status_code in (302, 303, 401)
    user = make_user(session, staff_role=staff_role)
    session.commit()
    login(client, user)
    assert client.get("/faq/manage/feedback").status_code == 403


def test_no_results_suggest_the_most_read_articles_and_support(client, session, articles):
    for _ in range(3):
        client.get("/faq/stop")
    client.get("/faq/start")
    body = client.get("/faq?q=zyxxyz", headers=HX).get_data(as_text=True)
    assert 'data-testid="faq-no-hits"' in body and 'data-testid="faq-support-link"' in body
    most_read = re.search(r'data-testid="faq-most-read">(.*?)</ul>', body, re.S).group(1)
    assert re.findall(r'href="/faq/([a-z]+)"', most_read)[:2] == ["stop", "start"]
    assert "faq-most-read" not in client.get("/faq?q=paying", headers=HX).get_data(as_text=True)
