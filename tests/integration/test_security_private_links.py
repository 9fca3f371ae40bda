"""Issue 23: private links (a visitor's ticket, an order) expire when unused, can be asked for again,
and never sit in clear in the access log or in a sent e-mail's stored copy."""
from __future__ import annotations

import re
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import func, select

from portal.db import utcnow
from portal.models import ChargerOrder, OutboxEmail, SupportTicket
from portal.services.helpdesk.tokens import LINK_IDLE_DAYS
from tests.factories import make_site
from tests.integration.test_support_tickets import VISITOR
from tests.support.mail import reset_mail_queue, run_mail_jobs

ORDER = {"name": "Ola Nordmann", "email": "ola@example.test", "phone": "+47 900 00 001", "parking_space": "P-7",
         "charger_model": "Home 22 kW", "consent": "y", "website": ""}
LINK = re.compile(r"/(?:support/t|order/o)/[A-Za-z0-9_-]{16,}")


@pytest.fixture
def coop(session):
    site = make_site(session, "bjorkasen", name="Bjørkåsen borettslag", order_charger_model="Home 22 kW")
    session.commit()
    return site


def _ticket_link(client) -> str:
    return client.post("/support", data=VISITOR).headers["Location"]


def _order_link(client) -> str:
    return client.post("/order/bjorkasen", data=ORDER).headers["Location"]


def _age(session, model, days: int) -> None:
    session.expire_all()
    for row in session.scalars(select(model)):
        row.access_token_used_at = utcnow() - timedelta(days=days)
    session.commit()


def test_a_ticket_link_unused_past_its_life_is_refused_with_a_way_to_a_new_one(client, session):
    link = _ticket_link(client)
    _age(session, SupportTicket, LINK_IDLE_DAYS + 1)
    page = client.get(link)
    assert page.status_code == 410
    assert 'href="/links"' in page.get_data(as_text=True)
    assert "The screen shows E42." not in page.get_data(as_text=True)
    assert client.post(f"{link}/reply", data={"body": "hello"}).status_code == 410


def test_an_order_link_unused_past_its_life_is_refused_too(client, session, coop):
    link = _order_link(client)
    _age(session, ChargerOrder, LINK_IDLE_DAYS + 1)
    page = client.get(link)
    assert page.status_code == 410 and 'href="/links"' in page.get_data(as_text=True)
    assert "P-7" not in page.get_data(as_text=True)


def test_using_a_link_renews_its_life(client, session):
    link = _ticket_link(client)
    _age(session, SupportTicket, LINK_IDLE_DAYS - 1)
    assert client.get(link).status_code == 200
    session.expire_all()
    used = session.scalar(select(SupportTicket.access_token_used_at))
    assert utcnow() - used.replace(tzinfo=utcnow().tzinfo) < timedelta(minutes=5)


def _new_link_mails(session, to: str) -> list[OutboxEmail]:
    session.expire_all()
    return list(session.scalars(select(OutboxEmail).where(func.lower(OutboxEmail.to_address) == to,
                                                          OutboxEmail.kind == "private_links")))


def test_asking_for_new_links_answers_the_same_and_mails_only_an_owner(client, session, coop):
    old_ticket = _ticket_link(client)
    old_order = _order_link(client)
    _age(session, SupportTicket, LINK_IDLE_DAYS + 5)
    client.get("/links")  # shows (and so clears) the thank-you messages of the two forms
    known = client.post("/links", data={"email": "VERA@example.test "})
    unknown = client.post("/links", data={"email": "nobody@example.test"})
    assert known.status_code == unknown.status_code == 200

    def strip(page):
        return page.get_data(as_text=True).replace("VERA@example.test", "").replace("nobody@example.test", "")
    assert strip(known) == strip(unknown)
    assert _new_link_mails(session, "nobody@example.test") == []
    [mail] = _new_link_mails(session, "vera@example.test")
    links = LINK.findall(mail.body_text)
    assert len(links) == 1 and links[0].startswith("/support/t/") and links[0] != old_ticket
    assert client.get(links[0]).status_code == 200
    assert client.get(old_ticket).status_code == 404  # the new link replaces the old one
    client.post("/links", data={"email": "ola@example.test"})
    [order_mail] = _new_link_mails(session, "ola@example.test")
    [order_link] = LINK.findall(order_mail.body_text)
    assert client.get(order_link).status_code == 200 and client.get(old_order).status_code == 404


def test_the_new_link_form_says_what_is_wrong_and_keeps_what_was_typed(client):
    page = client.post("/links", data={"email": "not-an-address"})
    assert page.status_code == 422 and 'value="not-an-address"' in page.get_data(as_text=True)
    assert "Enter a valid e-mail address" in page.get_data(as_text=True)


def test_asking_for_new_links_is_rate_limited(app_config, db, redis_url, session):
    from portal import create_app
    from tests.conftest import browser_like_client

    app = create_app({**app_config, "RATELIMIT_ENABLED": True})
    try:
        client = browser_like_client(app)
        codes = [client.post("/links", data={"email": f"x{i}@example.test"}).status_code for i in range(6)]
        assert codes == [200] * 5 + [429]
        assert "Too many attempts" in client.post("/links", data={"email": "y@example.test"}).get_data(as_text=True)
    finally:
        for key in Redis.from_url(redis_url).scan_iter("*portal-rl*"):
            Redis.from_url(redis_url).delete(key)
        app.extensions["portal_db"].dispose()


def test_a_sent_confirmation_keeps_no_working_link(client, session, smtp, redis_url, coop):
    ticket_link = _ticket_link(client)
    order_link = _order_link(client)
    run_mail_jobs(redis_url)
    delivered = "\n".join(m.as_string() for m in smtp.wait_for(3))
    assert ticket_link in delivered and order_link in delivered  # the person got the links
    session.expire_all()
    kept = list(session.scalars(select(OutboxEmail).where(OutboxEmail.kind.in_(
        ("ticket_confirmation", "order_confirmation")))))
    assert len(kept) == 2 and all(row.status == "sent" for row in kept)
    for row in kept:
        for body in (row.body_text, row.body_html or ""):
            assert not LINK.search(body), body
            for token in (ticket_link.rsplit("/", 1)[1], order_link.rsplit("/", 1)[1]):
                assert token not in body
    reset_mail_queue(redis_url)


def test_the_real_access_log_holds_no_private_link(client, database_url, redis_url, session, coop):
    from tests.support.stack import start_web

    links = [_ticket_link(client), _order_link(client)]
    proc, base = start_web({"DATABASE_URL": database_url, "REDIS_URL": redis_url, "RATELIMIT_ENABLED": "0"})
    try:
        for link in links:
            assert urllib.request.urlopen(base + link, timeout=10).status == 200
            try:
                urllib.request.urlopen(base + f"/login?next={link.replace('/', '%2F')}", timeout=10).read()
            except urllib.error.HTTPError:
                pass
        urllib.request.urlopen(base + "/healthz?last=1", timeout=10).read()
        out = proc.output()
        while "/healthz?last=1" not in out:
            out = proc.output()
    finally:
        proc.stop()
    for link in links:
        assert link.rsplit("/", 1)[1] not in out, out[-2000:]
    assert out.count("[redacted]") >= 4
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(SupportTicket)) == 1
